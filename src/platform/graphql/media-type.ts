/**
 * GraphQL over HTTP response media types. A client that accepts
 * `application/graphql-response+json` gets it, with 4xx statuses for requests
 * that cannot execute and no `data` entry in them. A client that asks for
 * `application/json` explicitly gets the legacy behaviour the specification
 * asks of that type: 200 even when the document does not parse or validate.
 * A request without an Accept header (or with only wildcards) is answered as
 * it always was: application/json, 400 for a request that cannot execute.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

export type ResponseMediaType = 'graphql-response+json' | 'json-legacy' | 'json';

function qualityOf(accept: string, type: string): number {
  let best = 0;
  for (const part of accept.split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (name !== type) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    if (Number.isFinite(value)) best = Math.max(best, value);
  }
  return best;
}

export function responseMediaType(headers: IncomingHttpHeaders): ResponseMediaType {
  const accept = headers.accept;
  if (!accept) return 'json';
  const graphqlResponse = qualityOf(accept, GRAPHQL_RESPONSE_JSON);
  const json = qualityOf(accept, 'application/json');
  if (graphqlResponse > 0 && graphqlResponse >= json) return 'graphql-response+json';
  return json > 0 ? 'json-legacy' : 'json';
}
