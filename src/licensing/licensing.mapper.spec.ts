import { AgreementStatus } from './license-agreement.entity';
import { decodeCursor, encodeCursor } from './license-agreement.service';
import { effectiveStatus } from './licensing.mapper';

describe('effectiveStatus', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const past = new Date('2029-12-31T23:59:59Z');
  const future = new Date('2030-01-02T00:00:00Z');

  it.each([AgreementStatus.ACTIVE, AgreementStatus.PENDING_PAYMENT, AgreementStatus.SUSPENDED])('a live %s agreement past endsAt reads EXPIRED', (status) => {
    expect(effectiveStatus({ status, endsAt: past }, now)).toBe(AgreementStatus.EXPIRED);
    expect(effectiveStatus({ status, endsAt: now }, now)).toBe(AgreementStatus.EXPIRED);
    expect(effectiveStatus({ status, endsAt: future }, now)).toBe(status);
    expect(effectiveStatus({ status, endsAt: null }, now)).toBe(status);
  });

  it('TERMINATED stays TERMINATED after endsAt', () => {
    expect(effectiveStatus({ status: AgreementStatus.TERMINATED, endsAt: past }, now)).toBe(AgreementStatus.TERMINATED);
  });
});

describe('agreement cursors', () => {
  it('round-trips an id and refuses anything else', () => {
    const id = '3f1c2a7e-9b1d-4c59-8f5e-2a4b6c8d0e1f';
    expect(decodeCursor(encodeCursor(id))).toBe(id);
    expect(() => decodeCursor('garbage')).toThrow('invalid cursor');
    expect(() => decodeCursor(Buffer.from('agreement:1 OR 1=1').toString('base64url'))).toThrow('invalid cursor');
  });
});
