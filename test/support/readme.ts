/**
 * Reading the README's examples, shared by test/readme-flow.e2e-spec.ts (the
 * walkthrough) and test/readme-sections.e2e-spec.ts (every other section).
 *
 * What is read, in document order:
 * - every ```graphql block: one named operation; the ```json block right after
 *   it (nothing but blank lines between) holds its variables;
 * - every `gql '<json body>'` call inside a ```sh block: one operation, its
 *   body `{query, variables?}` as the curl helper would send it;
 * - any other ```sh block that calls curl: one shell step, run as written;
 * - a ```json block under a paragraph starting with "→": the answer shown for the
 *   latest operation, a shortened response body checked against the real one
 *   (see matchShown). Any other ```json block is an error.
 *
 * Placeholders are `<UPPER_SNAKE>` strings, filled from earlier answers or by
 * the test (values a reader supplies, such as a date).
 */
import { getNamedType, GraphQLObjectType, GraphQLSchema, isUnionType, Kind, OperationDefinitionNode, parse } from 'graphql';


/** The text of a `## <heading>` section of a markdown document. */
export function readmeSection(readme: string, heading: string): string {
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

// ---------------------------------------------------------------- README parsing

/** A sh block that calls the API with curl (the `gql` helper's own definition is not an example). */
export function isCurlExample(body: string): boolean {
  return /\bcurl\b/.test(body) && !/^gql\(\)/m.test(body);
}

/** `curl <path>` of the first URL a shell example calls, e.g. `curl /v1/usage/events`. */
export function shellStepName(body: string): string {
  const url = /curl\b[^\n]*?\b(?:localhost|127\.0\.0\.1):\d+(\/[^\s"']*)/.exec(body);
  return `curl ${url ? url[1] : '?'}`;
}

/** Blocks that are examples to run: every graphql block and every sh block that calls curl or the gql helper. */
export function exampleBlocks(markdown: string): Block[] {
  return fencedBlocks(markdown).filter((b) => b.lang === 'graphql' || (b.lang === 'sh' && (/\bcurl\b/.test(b.body) || /^gql '/m.test(b.body))));
}


export interface Block {
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Only blank lines between the previous block's closing fence and this one. */
  adjacent: boolean;
  /** The first line of the paragraph right above the opening fence ('' if none). */
  lead: string;
}

export interface ReadmeOp {
  name: string;
  /** `graphql`: a graphql block; `gql`: a `gql '<body>'` call in a sh block; `shell`: a sh block run as it is (curl). */
  kind: 'graphql' | 'gql' | 'shell';
  /** The GraphQL document (graphql, gql) or the shell script (shell). */
  query: string;
  variables?: Record<string, unknown>;
  answer?: unknown;
  line: number;
  /** 1-based line of the block's opening fence. */
  block: number;
}

export function fencedBlocks(markdown: string, firstLine = 1): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let open: { lang: string; line: number; body: string[]; adjacent: boolean; lead: string } | null = null;
  let sinceLast: string[] | null = null; // lines since the previous block closed
  lines.forEach((text, i) => {
    if (open) {
      if (/^```\s*$/.test(text)) {
        blocks.push({ lang: open.lang, body: open.body.join('\n'), line: open.line, adjacent: open.adjacent, lead: open.lead });
        open = null;
        sinceLast = [];
      } else open.body.push(text);
      return;
    }
    const fence = /^```(\S*)\s*$/.exec(text);
    if (fence) {
      const adjacent = sinceLast !== null && sinceLast.every((l) => l.trim() === '');
      let start = i;
      while (start > 0 && lines[start - 1].trim() === '') start -= 1;
      const end = start;
      while (start > 0 && lines[start - 1].trim() !== '' && !lines[start - 1].startsWith('```')) start -= 1;
      const lead = start < end ? lines[start] : '';
      open = { lang: fence[1], line: firstLine + i, body: [], adjacent, lead };
    } else sinceLast?.push(text);
  });
  if (open) throw new Error(`README: unclosed code fence at line ${(open as { line: number }).line}`);
  return blocks;
}

export function operationName(query: string, where: string): string {
  const doc = parse(query);
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length !== 1) throw new Error(`${where}: expected exactly one operation, found ${ops.length}`);
  if (!ops[0].name) throw new Error(`${where}: the operation must be named`);
  return ops[0].name.value;
}

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
}

/** The README's operations in order, with variables and shown answers. */
export function readmeOperations(markdown: string, firstLine = 1): ReadmeOp[] {
  const ops: ReadmeOp[] = [];
  const blocks = fencedBlocks(markdown, firstLine);
  blocks.forEach((b, i) => {
    const where = `README line ${b.line}`;
    if (b.lang === 'graphql') {
      ops.push({ name: operationName(b.body, where), kind: 'graphql', query: b.body, line: b.line, block: b.line });
    } else if (b.lang === 'json') {
      const prev = blocks[i - 1];
      const last = ops[ops.length - 1];
      if (!last) throw new Error(`${where}: a json block before any operation`);
      if (b.adjacent && prev?.lang === 'graphql') {
        last.variables = parseJson(b.body, where) as Record<string, unknown>;
      } else if (b.lead.startsWith('→')) {
        if (last.answer !== undefined) throw new Error(`${where}: a second answer for ${last.name}`);
        last.answer = parseJson(b.body, where);
      } else {
        throw new Error(`${where}: a json block is either variables (right under a graphql block) or an answer (under a paragraph starting with "→")`);
      }
    } else if (b.lang === 'sh') {
      const calls = [...b.body.matchAll(/^gql '([^']*)'/gm)];
      for (const m of calls) {
        const line = b.line + 1 + b.body.slice(0, m.index).split('\n').length - 1;
        const body = parseJson(m[1], `README line ${line}`) as { query?: unknown; variables?: Record<string, unknown> };
        if (typeof body.query !== 'string') throw new Error(`README line ${line}: the gql body has no "query"`);
        ops.push({ name: operationName(body.query, `README line ${line}`), kind: 'gql', query: body.query, variables: body.variables, line, block: b.line });
      }
      if (calls.length === 0 && isCurlExample(b.body)) {
        ops.push({ name: shellStepName(b.body), kind: 'shell', query: b.body, line: b.line, block: b.line });
      }
    }
  });
  return ops;
}

/** The walkthrough: from its heading to the next `## ` heading. */
export function walkthrough(readme: string): { text: string; firstLine: number } {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.startsWith('### Walkthrough'));
  if (start < 0) throw new Error('README: no "### Walkthrough" section');
  const rel = lines.slice(start + 1).findIndex((l) => l.startsWith('## '));
  const end = rel < 0 ? lines.length : start + 1 + rel;
  return { text: lines.slice(start, end).join('\n'), firstLine: start + 1 };
}

// ---------------------------------------------------------------- placeholders and answers

export const PLACEHOLDER = /<([A-Z][A-Z0-9_]*)>/g;

export function substitute(value: unknown, known: Map<string, string>, where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_, name: string) => {
      const v = known.get(name);
      if (v === undefined) throw new Error(`${where}: <${name}> is used before any step fills it`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, known, where));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, known, where)]));
  }
  return value;
}

export function at(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[k]), data);
}

/**
 * The shown answer is a shortened copy of the real one: every key shown must
 * exist with a matching value; arrays match element by element from the start
 * (the real one may be longer). Strings: `<NAME>` equals the placeholder's
 * value; `abc…` is any string starting with `abc` (`…` alone: any string);
 * anything else compares exactly. Returns the mismatches.
 */
export function matchShown(shown: unknown, actual: unknown, known: Map<string, string>, path = '$'): string[] {
  if (typeof shown === 'string') {
    const whole = /^<([A-Z][A-Z0-9_]*)>$/.exec(shown);
    if (whole) {
      const v = known.get(whole[1]);
      if (v === undefined) return [`${path}: shows <${whole[1]}>, which no step has filled`];
      return actual === v ? [] : [`${path}: shows <${whole[1]}> = ${JSON.stringify(v)}, got ${JSON.stringify(actual)}`];
    }
    if (PLACEHOLDER.test(shown)) {
      PLACEHOLDER.lastIndex = 0;
      let filled: string;
      try {
        filled = substitute(shown, known, path) as string;
      } catch (e) {
        return [(e as Error).message];
      }
      return matchShown(filled, actual, known, path);
    }
    PLACEHOLDER.lastIndex = 0;
    const cut = shown.indexOf('…');
    if (cut >= 0) {
      return typeof actual === 'string' && actual.startsWith(shown.slice(0, cut))
        ? []
        : [`${path}: shows ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
    }
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: shows an array, got ${JSON.stringify(actual)}`];
    if (actual.length < shown.length) return [`${path}: shows ${shown.length} items, got ${actual.length}`];
    return shown.flatMap((s, i) => matchShown(s, actual[i], known, `${path}[${i}]`));
  }
  if (shown && typeof shown === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: shows an object, got ${JSON.stringify(actual)}`];
    return Object.entries(shown).flatMap(([k, v]) =>
      k in actual ? matchShown(v, (actual as Record<string, unknown>)[k], known, `${path}.${k}`) : [`${path}.${k}: missing`],
    );
  }
  return shown === actual ? [] : [`${path}: shows ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
}

/** Response keys of the root fields whose type is a union. */
export function unionRootFields(schema: GraphQLSchema, query: string): string[] {
  const op = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = (op.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType()) as GraphQLObjectType;
  return op.selectionSet.selections.flatMap((s) => {
    if (s.kind !== Kind.FIELD) return [];
    const field = root.getFields()[s.name.value];
    return field && isUnionType(getNamedType(field.type)) ? [s.alias?.value ?? s.name.value] : [];
  });
}


export type ReadmeActor = 'none' | 'vendor' | 'distiller' | 'admin' | 'admin2';

/** One README operation as a test story step. */
export interface ReadmeStep {
  op: string;
  /** Whose token is sent (captured earlier as VENDOR_TOKEN, DISTILLER_TOKEN, ADMIN_TOKEN). */
  as: ReadmeActor;
  /** Root field (response key) → the union member it must return. Required for every union-typed root field. */
  typename?: Record<string, string>;
  /** Placeholder → dotted path in `data` (array indexes as numbers). */
  capture?: Record<string, string>;
  /** Work the README leaves to the reader before this step. */
  before?: () => Promise<void>;
  /** A shell step that prints a verdict rather than JSON: what its output must match. */
  out?: RegExp;
}
