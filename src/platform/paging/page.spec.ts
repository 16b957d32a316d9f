import { pageOf, toConnection } from './page';

describe('pages and connections', () => {
  it('the extra fetched row only says there is a next page', () => {
    expect(pageOf([1, 2, 3], 2)).toEqual({ rows: [1, 2], hasNextPage: true });
    expect(pageOf([1, 2], 2)).toEqual({ rows: [1, 2], hasNextPage: false });
    expect(pageOf([1, 2, 3], 2, (n) => n * 10)).toEqual({ rows: [10, 20], hasNextPage: true });
  });

  it('edges carry each row cursor; endCursor is the last one, null on an empty page', () => {
    const c = toConnection({ rows: [{ id: 'a' }, { id: 'b' }], hasNextPage: true }, (r) => `c-${r.id}`, (r) => r.id.toUpperCase());
    expect(c).toEqual({
      edges: [
        { cursor: 'c-a', node: 'A' },
        { cursor: 'c-b', node: 'B' },
      ],
      pageInfo: { hasNextPage: true, endCursor: 'c-b' },
    });
    expect(toConnection({ rows: [], hasNextPage: false }, String, String).pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });
});
