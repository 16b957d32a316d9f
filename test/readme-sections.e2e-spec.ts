/**
 * The README's GraphQL examples outside the executed walkthrough (metering,
 * provenance, …) must at least be valid against the schema, so they cannot
 * drift silently. (The walkthrough itself is executed by readme-flow.)
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { parse, validate } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, TestApp } from './support/app';
import { readmeSection, VALIDATED_README_SECTIONS } from './support/readme';

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

function graphqlBlocksOf(heading: string): string[] {
  return [...readmeSection(README, heading).matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('README examples (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it.each(VALIDATED_README_SECTIONS)('every GraphQL example of "%s" is valid against the schema', (heading) => {
    const schema = t.app.get(GraphQLSchemaHost).schema;
    const blocks = graphqlBlocksOf(heading);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const errors = validate(schema, parse(block)).map((e) => e.message);
      expect({ block, errors }).toEqual({ block, errors: [] });
    }
  });

  it('documents every REST path the OpenAPI document lists', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).body;
    for (const path of Object.keys(doc.paths)) expect(README).toContain(path);
  });
});
