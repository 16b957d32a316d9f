import { escapeLike } from './catalog.repository';
import { isNonNegativeBigIntString, isPositiveBigIntString } from './catalog.validation';

describe('escapeLike', () => {
  it('escapes the LIKE wildcards and the escape character', () => {
    expect(escapeLike('100%_a\\b')).toBe('100\\%\\_a\\\\b');
    expect(escapeLike('plain')).toBe('plain');
  });
});

describe('bigint strings', () => {
  it.each([
    ['0', true, false],
    ['1', true, true],
    ['9223372036854775807', true, true],
    ['9223372036854775808', false, false],
    ['01', false, false],
    ['-1', false, false],
    ['1e3', false, false],
    [' 1', false, false],
  ])('%j: non-negative %s, positive %s', (v, nonNeg, pos) => {
    expect(isNonNegativeBigIntString(v)).toBe(nonNeg);
    expect(isPositiveBigIntString(v)).toBe(pos);
  });

  it('refuses non-strings', () => {
    expect(isNonNegativeBigIntString(5)).toBe(false);
  });
});
