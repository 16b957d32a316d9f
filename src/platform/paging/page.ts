/**
 * Rows to a Relay connection, once for every paged list. Services fetch
 * `first + 1` rows in keyset order (`pageOf` turns them into a page: the extra
 * row only says that a next page exists); resolvers turn a page into a
 * connection with `toConnection`, naming each row's cursor and node.
 */
export interface Page<Row> {
  rows: Row[];
  hasNextPage: boolean;
}

export interface Edge<Node> {
  cursor: string;
  node: Node;
}

export interface Connection<Node> {
  edges: Edge<Node>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** `fetched` holds up to `first + 1` rows; `map` (if any) turns each row of the page into what the service returns. */
export function pageOf<Fetched, Row = Fetched>(fetched: Fetched[], first: number, map?: (row: Fetched) => Row): Page<Row> {
  const rows = fetched.slice(0, first);
  return { rows: map ? rows.map(map) : (rows as unknown as Row[]), hasNextPage: fetched.length > first };
}

export function toConnection<Row, Node>(page: Page<Row>, cursorOf: (row: Row) => string, nodeOf: (row: Row) => Node): Connection<Node> {
  const edges = page.rows.map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.length ? edges[edges.length - 1].cursor : null } };
}
