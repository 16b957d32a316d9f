import { OperationNames } from './operation-names';

describe('OperationNames', () => {
  it('keeps plain names, buckets anonymous, malformed, reserved and overflowing ones', () => {
    const names = new OperationNames(3);
    expect(names.label(undefined)).toBe('anonymous');
    expect(names.label('')).toBe('anonymous');
    expect(names.label('MyOrganizations')).toBe('MyOrganizations');
    expect(names.label('a'.repeat(65))).toBe('other');
    expect(names.label('Q{x="1"}')).toBe('other');
    expect(names.label('other')).toBe('other');
    expect(names.label('unknown')).toBe('other');
    expect(names.label('Two')).toBe('Two');
    expect(names.label('Three')).toBe('Three');
    // The cap is on distinct names: a fourth is bucketed, known ones keep their label.
    expect(names.label('Four')).toBe('other');
    expect(names.label('MyOrganizations')).toBe('MyOrganizations');
    expect(names.label('Two')).toBe('Two');
  });
});
