import { payoutFailureAdvice } from './payout-failure-advice';

describe('payout failure advice', () => {
  it('tells the vendor to finish onboarding when the account cannot receive transfers', () => {
    expect(payoutFailureAdvice('account_cannot_receive_transfers')).toMatch(/Finish onboarding/);
    expect(payoutFailureAdvice('insufficient_capabilities_for_transfer')).toMatch(/Finish onboarding/);
    expect(payoutFailureAdvice('account_invalid')).toMatch(/onboarding again/);
  });

  it('has generic advice for an unknown code and none without a failure', () => {
    expect(payoutFailureAdvice('something_new')).toMatch(/contact support/);
    expect(payoutFailureAdvice(null)).toBeNull();
  });
});
