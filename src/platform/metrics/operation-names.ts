/**
 * GraphQL operation names as metric labels. Clients choose operation names,
 * so they are untrusted and unbounded: a label is the name only if it is a
 * plain GraphQL name of sensible length and one of the first MAX_OPERATIONS
 * distinct names this process has seen; every other name shares `other`,
 * operations without a name are `anonymous`, and requests that never got as
 * far as a parsed operation are `unknown`.
 */
export const MAX_OPERATIONS = 200;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
/** The bucket labels themselves: an operation called `other` must not pose as the bucket. */
const RESERVED = new Set(['anonymous', 'other', 'unknown']);

export class OperationNames {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_OPERATIONS) {}

  label(name: string | null | undefined): string {
    if (name === null || name === undefined || name === '') return 'anonymous';
    if (!NAME.test(name) || RESERVED.has(name)) return 'other';
    if (this.seen.has(name)) return name;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(name);
    return name;
  }
}
