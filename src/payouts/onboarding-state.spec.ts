import { signOnboardingState, verifyOnboardingState } from './onboarding-state';

describe('payout onboarding state', () => {
  const secret = 's'.repeat(40);
  const state = { organizationId: '6f1c0a52-7a8e-4c55-9d3e-0c7f3f1d2a10', userId: 'b7a9f3c2-1111-4c55-9d3e-0c7f3f1d2a10', expiresAt: 2_000_000_000 };

  it('round-trips before it expires', () => {
    expect(verifyOnboardingState(secret, signOnboardingState(secret, state), 1_999_999_999)).toEqual(state);
  });

  it('refuses an expired, tampered, foreign-key or malformed state', () => {
    const token = signOnboardingState(secret, state);
    expect(verifyOnboardingState(secret, token, 2_000_000_000)).toBeNull();
    const [body, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ o: state.organizationId, u: state.userId, e: 2_100_000_000 })).toString('base64url');
    expect(verifyOnboardingState(secret, `${forged}.${mac}`, 1)).toBeNull();
    expect(verifyOnboardingState('t'.repeat(40), token, 1)).toBeNull();
    expect(verifyOnboardingState(secret, `${body}.`, 1)).toBeNull();
    expect(verifyOnboardingState(secret, 'not-a-token', 1)).toBeNull();
  });
});
