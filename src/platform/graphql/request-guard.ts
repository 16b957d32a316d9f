/**
 * The GraphQL endpoint's HTTP edge, as route options for Mercurius' /graphql
 * routes (so uploads and other routes keep the app-wide body limit):
 * - a body limit sized for queries (GRAPHQL_MAX_BODY_BYTES → 413);
 * - the shape of each request (a batch is an array of them), checked before
 *   Mercurius sees it, so a malformed body gets a clear 400 instead of a
 *   crash inside the parser; a null `extensions` is accepted as absent and
 *   `variables` sent as a JSON string is read as the object it holds;
 * - credential operations (signUp, logIn) at most once per request, counted
 *   over aliases, fragments and every operation of a batch: nothing runs when
 *   a request holds more (each hashes a password; one request must not buy
 *   hundreds of accounts or password guesses);
 * - the response media type (media-type.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DocumentNode, FragmentDefinitionNode, Kind, parse, SelectionSetNode } from 'graphql';
import { AppConfig } from '../config/app-config';
import { GRAPHQL_RESPONSE_JSON, responseMediaType } from './media-type';
import { GraphQLRequestRejected } from './request-rejected';

export const ONCE_PER_REQUEST_FIELDS = new Set(['signUp', 'logIn']);
// A field name is a literal in the query text (GraphQL names have no escapes): no mention, no parse.
const MENTIONS_ONCE_FIELD = new RegExp(`\\b(${[...ONCE_PER_REQUEST_FIELDS].join('|')})\\b`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one request of the body (mutating it only to normalise what the specification allows). */
function checkRequest(req: unknown, where: string): void {
  if (!isPlainObject(req)) {
    throw new GraphQLRequestRejected(`${where}expected a JSON object with a "query" string`, 'MALFORMED_REQUEST');
  }
  if (req.query === undefined || req.query === null) {
    throw new GraphQLRequestRejected(`${where}"query" is missing: send the GraphQL document as a string in "query"`, 'MALFORMED_REQUEST');
  }
  if (typeof req.query !== 'string' || req.query.trim() === '') {
    throw new GraphQLRequestRejected(`${where}"query" must be a non-empty string holding a GraphQL document`, 'MALFORMED_REQUEST');
  }
  if (req.operationName !== undefined && req.operationName !== null && typeof req.operationName !== 'string') {
    throw new GraphQLRequestRejected(`${where}"operationName" must be a string`, 'MALFORMED_REQUEST');
  }
  if (typeof req.variables === 'string') {
    // Some clients send variables as JSON text (as in a GET query string): accept it when it holds an object.
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.variables);
    } catch {
      parsed = undefined;
    }
    if (!isPlainObject(parsed)) {
      throw new GraphQLRequestRejected(`${where}"variables" must be a JSON object mapping variable names to values`, 'MALFORMED_REQUEST');
    }
    req.variables = parsed;
  } else if (req.variables !== undefined && req.variables !== null && !isPlainObject(req.variables)) {
    throw new GraphQLRequestRejected(`${where}"variables" must be a JSON object mapping variable names to values`, 'MALFORMED_REQUEST');
  }
  if (req.extensions === null) delete req.extensions;
  else if (req.extensions !== undefined && !isPlainObject(req.extensions)) {
    throw new GraphQLRequestRejected(`${where}"extensions" must be a JSON object`, 'MALFORMED_REQUEST');
  }
}

/** Occurrences of once-per-request fields in the mutations of a document, through fragments. */
export function onceFieldOccurrences(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const count = (set: SelectionSetNode, path: Set<string>): number => {
    let n = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) n += ONCE_PER_REQUEST_FIELDS.has(s.name.value) ? 1 : 0;
      else if (s.kind === Kind.INLINE_FRAGMENT) n += count(s.selectionSet, path);
      else if (!path.has(s.name.value)) {
        // a cycle of fragments is invalid anyway (validation reports it); do not follow it here
        const f = fragments.get(s.name.value);
        if (f) n += count(f.selectionSet, new Set(path).add(s.name.value));
      }
    }
    return n;
  };
  let total = 0;
  for (const d of document.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION && d.operation === 'mutation') total += count(d.selectionSet, new Set());
  }
  return total;
}

function checkOncePerRequest(queries: string[], maxTokens: number): void {
  let total = 0;
  for (const query of queries) {
    if (!MENTIONS_ONCE_FIELD.test(query)) continue;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens, noLocation: true });
    } catch {
      continue; // Mercurius reports the syntax error (or the token limit) precisely
    }
    total += onceFieldOccurrences(document);
  }
  if (total > 1) {
    throw new GraphQLRequestRejected(
      `A request may call signUp or logIn only once (this one asks ${total} times, counting aliases and batched operations)`,
      'ONCE_PER_REQUEST',
      400,
      { fields: [...ONCE_PER_REQUEST_FIELDS], occurrences: total },
    );
  }
}

export function graphqlRouteOptions(config: AppConfig) {
  return {
    bodyLimit: config.graphqlMaxBodyBytes,
    preValidation: async (request: FastifyRequest): Promise<void> => {
      if (request.method === 'GET') {
        // variables and extensions arrive as JSON text here; Mercurius reads them
        const { query } = (request.query ?? {}) as { query?: unknown };
        if (typeof query !== 'string' || query.trim() === '') {
          throw new GraphQLRequestRejected('Query string: "query" is missing: send the GraphQL document in the "query" parameter', 'MALFORMED_REQUEST');
        }
        return;
      }
      const body = request.body;
      const requests = Array.isArray(body) ? body : [body];
      requests.forEach((r, i) => checkRequest(r, Array.isArray(body) ? `Batch request ${i}: ` : 'Request body: '));
      checkOncePerRequest(
        requests.map((r) => (r as { query: string }).query),
        config.graphqlMaxTokens,
      );
    },
    onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/json') && responseMediaType(request.headers) === 'graphql-response+json') {
        void reply.header('content-type', `${GRAPHQL_RESPONSE_JSON}; charset=utf-8`);
      }
      return payload;
    },
  };
}
