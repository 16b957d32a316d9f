import { AgreementStatus } from './license-agreement.entity';
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
