/**
 * The GraphQL client: urql with graphcache, a normalized cache given the
 * schema (built from schema.gql at build time), so an object fetched by one
 * screen updates every other screen showing it. Types without an `id` are
 * embedded in their parent (their key is null); the audit log's entries are
 * keyed by their sequence number.
 */
import { Client, fetchExchange, mapExchange } from 'urql';
import { cacheExchange, type KeyingConfig } from '@urql/exchange-graphcache';
import schema from 'virtual:schema';
import { getToken } from './session';

const keys: KeyingConfig = {};
for (const type of schema.__schema.types) {
  if (type.kind !== 'OBJECT' || type.name.startsWith('__')) continue;
  const fields = (type as { fields?: readonly { name: string }[] }).fields ?? [];
  if (!fields.some((f) => f.name === 'id')) keys[type.name] = () => null;
}
keys.AuditEntry = (e) => (e.seq as string) ?? null;

/** Whether the API has a query field (screens for features not deployed yet stay hidden). */
export function hasQuery(name: string): boolean {
  const q = schema.__schema.types.find((t) => t.name === 'Query') as { fields?: readonly { name: string }[] } | undefined;
  return q?.fields?.some((f) => f.name === name) ?? false;
}

export function createClient(onUnauthenticated: () => void): Client {
  return new Client({
    url: '/graphql',
    exchanges: [
      cacheExchange({ schema, keys }),
      // An expired or revoked session: back to the log-in form.
      mapExchange({
        onError(error) {
          if (error.graphQLErrors.some((e) => (e.extensions as { code?: unknown } | undefined)?.code === 'UNAUTHENTICATED')) onUnauthenticated();
        },
      }),
      fetchExchange,
    ],
    fetchOptions: () => {
      const token = getToken();
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      return { headers };
    },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 401) onUnauthenticated();
      return res;
    },
  });
}
