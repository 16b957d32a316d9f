/**
 * The demo's HTTP client: GraphQL (POST /graphql) and the REST endpoints, as
 * any client of the public API would call them. A request error (or a
 * business outcome the demo did not expect) stops the demo with a message
 * naming the operation and the answer.
 */

export class DemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoError';
  }
}

export interface GqlError {
  message: string;
  extensions?: { code?: string; reason?: string; [k: string]: unknown };
}

export interface Session {
  email: string;
  token: string;
  userId: string;
  isAdmin: boolean;
  organizationId: string | null;
}

export class Api {
  constructor(readonly base: string) {}

  /** One GraphQL operation; answers data and errors as they came. */
  async raw(query: string, variables: Record<string, unknown>, token?: string): Promise<{ data?: any; errors?: GqlError[] }> {
    const res = await fetch(`${this.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    try {
      return JSON.parse(text) as { data?: any; errors?: GqlError[] };
    } catch {
      throw new DemoError(`POST /graphql answered ${res.status} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
  }

  /** One GraphQL operation that must succeed: its data. */
  async gql(what: string, query: string, variables: Record<string, unknown>, token?: string): Promise<any> {
    const r = await this.raw(query, variables, token);
    if (r.errors?.length) throw new DemoError(`${what}: ${describeErrors(r.errors)}`);
    return r.data;
  }

  /** A REST call (JSON in, JSON or text out). */
  async rest(method: string, path: string, opts: { token?: string; json?: unknown; form?: string } = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = opts.form;
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

export function describeErrors(errors: GqlError[]): string {
  return errors
    .map((e) => {
      const ext = e.extensions ?? {};
      const tags = [ext.code, ext.reason].filter(Boolean).join('/');
      return tags ? `${e.message} (${tags})` : e.message;
    })
    .join('; ');
}

export const codeOf = (r: { errors?: GqlError[] }): string | undefined => r.errors?.[0]?.extensions?.code;
export const reasonOf = (r: { errors?: GqlError[] }): string | undefined => r.errors?.[0]?.extensions?.reason;

/** Every node of a Relay connection field, following its cursors. */
export async function allNodes<T>(fetchPage: (after: string | null) => Promise<{ edges: { node: T }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await fetchPage(after);
    out.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return out;
    after = page.pageInfo.endCursor;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it answers a value (not undefined), or fails with `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new DemoError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}
