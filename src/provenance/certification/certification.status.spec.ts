import { CertificationStatus, expiryProblem, latestExpiry, stateOfLatest, statusOfLatest } from './certification.status';

const now = new Date('2027-03-10T12:00:00.000Z');
const at = (iso: string) => new Date(iso);

describe('certification status', () => {
  it('is NONE without a certification', () => {
    expect(statusOfLatest(null, now)).toBe(CertificationStatus.NONE);
    expect(stateOfLatest(null, now)).toMatchObject({ status: 'NONE', certificationId: null, evidence: [], safetyReview: null });
  });

  it('is CERTIFIED until the expiry instant, EXPIRED from it on', () => {
    const expiresAt = at('2027-03-10T12:00:00.001Z');
    expect(statusOfLatest({ expiresAt, revokedAt: null }, now)).toBe('CERTIFIED');
    expect(statusOfLatest({ expiresAt: now, revokedAt: null }, now)).toBe('EXPIRED');
    expect(statusOfLatest({ expiresAt: at('2020-01-01T00:00:00Z'), revokedAt: null }, now)).toBe('EXPIRED');
  });

  it('is REVOKED when the latest is revoked, expired or not', () => {
    expect(statusOfLatest({ expiresAt: at('2028-01-01T00:00:00Z'), revokedAt: at('2027-01-01T00:00:00Z') }, now)).toBe('REVOKED');
    expect(statusOfLatest({ expiresAt: at('2020-01-01T00:00:00Z'), revokedAt: at('2019-06-01T00:00:00Z') }, now)).toBe('REVOKED');
  });

  it('carries the evidence and safety review of the latest certification', () => {
    const s = stateOfLatest(
      {
        id: 'c1',
        modelId: 'm1',
        evidence: [{ benchmark: 'MMLU', metric: 'accuracy', value: '71.3', datasetDigest: `sha256:${'a'.repeat(64)}` }],
        safetyReview: { summary: 'ok', reviewer: 'Team', passed: true, reportUrl: null },
        certifiedAt: at('2027-01-01T00:00:00Z'),
        expiresAt: at('2028-01-01T00:00:00Z'),
        revokedAt: null,
      },
      now,
    );
    expect(s).toEqual({
      status: 'CERTIFIED',
      certificationId: 'c1',
      certifiedAt: at('2027-01-01T00:00:00Z'),
      expiresAt: at('2028-01-01T00:00:00Z'),
      revokedAt: null,
      evidence: [{ benchmark: 'MMLU', metric: 'accuracy', value: '71.3', datasetDigest: `sha256:${'a'.repeat(64)}` }],
      safetyReview: { summary: 'ok', reviewer: 'Team', passed: true, reportUrl: null },
    });
  });
});

describe('expiry window', () => {
  it('accepts the future up to three calendar years ahead', () => {
    expect(latestExpiry(now).toISOString()).toBe('2030-03-10T12:00:00.000Z');
    expect(expiryProblem(at('2027-03-10T12:00:00.001Z'), now)).toBeNull();
    expect(expiryProblem(latestExpiry(now), now)).toBeNull();
  });

  it('refuses now, the past, beyond three years, and invalid dates', () => {
    expect(expiryProblem(now, now)).toBe('expiresAt must be in the future');
    expect(expiryProblem(at('2026-01-01T00:00:00Z'), now)).toBe('expiresAt must be in the future');
    expect(expiryProblem(new Date(latestExpiry(now).getTime() + 1), now)).toBe('expiresAt must be at most 3 years ahead');
    expect(expiryProblem(new Date(Number.NaN), now)).toBe('expiresAt must be a valid date-time');
  });

  it('counts calendar years from 29 February', () => {
    expect(latestExpiry(at('2028-02-29T00:00:00Z')).toISOString()).toBe('2031-03-01T00:00:00.000Z');
  });
});
