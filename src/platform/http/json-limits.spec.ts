import { jsonDepth, MAX_JSON_DEPTH, pathWithNul } from './json-limits';

function nested(depth: number): unknown {
  let v: unknown = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

describe('json limits', () => {
  it('measures nesting depth, scalars being depth 0', () => {
    expect(jsonDepth(5)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3);
    expect(jsonDepth(nested(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
  });

  it('stops at the limit without recursing, even 200,000 levels deep', () => {
    expect(jsonDepth(nested(200_000))).toBe(MAX_JSON_DEPTH + 1);
  });

  it('finds a NUL in a value or a key, with its path', () => {
    expect(pathWithNul({ a: 'fine', b: ['ok', 'bad\u0000'] })).toBe('b[1]');
    expect(pathWithNul({ ['k\u0000']: 1 })).toBe('k\u0000');
    expect(pathWithNul('x\u0000')).toBe('(value)');
    expect(pathWithNul({ a: { b: 'clean' } })).toBeNull();
  });
});
