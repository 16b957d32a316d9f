/**
 * Limits on the shape of JSON request bodies, checked before any code walks
 * them: the code that handles a body (validation, hashing, canonical JSON,
 * JSON.stringify) recurses, so a body nested thousands of levels deep would
 * overflow the stack and answer 500. The walk here is iterative for the same
 * reason.
 */

/** Deepest nesting (objects and arrays) a REST body may have. */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of `value`, counting up to `limit + 1` at most (then it stops looking). */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const d = depth + 1;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, d]);
    }
  }
  return deepest;
}

/** The first string (value or key) containing a NUL character, as a path like `a.b[2]`, or null. */
export function pathWithNul(value: unknown): string | null {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path || '(value)';
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((child, i) => stack.push([child, `${path}[${i}]`]));
      continue;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const p = path ? `${path}.${k}` : k;
      if (k.includes('\u0000')) return p;
      stack.push([child, p]);
    }
  }
  return null;
}
