import {
  AGREEMENT_TRANSITIONS,
  AgreementCause,
  allowedFromStatuses,
  assertTransition,
  isAllowedTransition,
  RefusedAgreementTransitionError,
} from './agreement-status.table';
import { AgreementStatus } from './license-agreement.entity';

const { PENDING_PAYMENT, ACTIVE, SUSPENDED, TERMINATED, EXPIRED } = AgreementStatus;
const STATUSES = Object.values(AgreementStatus);
const FROM: (AgreementStatus | null)[] = [null, ...STATUSES];
const CAUSES = Object.values(AgreementCause);

// The lifecycle, written out by hand (not derived from the table): every move
// not listed here must be refused.
const EXPECTED: [AgreementCause, AgreementStatus | null, AgreementStatus][] = [
  [AgreementCause.ACCEPT, null, PENDING_PAYMENT],
  [AgreementCause.ACCEPT, null, ACTIVE],
  [AgreementCause.UPFRONT_FEE_SETTLED, PENDING_PAYMENT, ACTIVE],
  [AgreementCause.SUSPEND_NON_PAYMENT, ACTIVE, SUSPENDED],
  [AgreementCause.REINSTATE_PAYMENT, SUSPENDED, ACTIVE],
  [AgreementCause.VENDOR_SUSPEND, PENDING_PAYMENT, SUSPENDED],
  [AgreementCause.VENDOR_SUSPEND, ACTIVE, SUSPENDED],
  [AgreementCause.VENDOR_REINSTATE, SUSPENDED, ACTIVE],
  [AgreementCause.VENDOR_REINSTATE, SUSPENDED, PENDING_PAYMENT],
  [AgreementCause.TERMINATE, PENDING_PAYMENT, TERMINATED],
  [AgreementCause.TERMINATE, ACTIVE, TERMINATED],
  [AgreementCause.TERMINATE, SUSPENDED, TERMINATED],
  [AgreementCause.EXPIRE, PENDING_PAYMENT, EXPIRED],
  [AgreementCause.EXPIRE, ACTIVE, EXPIRED],
  [AgreementCause.EXPIRE, SUSPENDED, EXPIRED],
];
const key = (cause: AgreementCause, from: AgreementStatus | null, to: AgreementStatus) => `${cause}: ${from ?? '(new)'} -> ${to}`;
const expected = new Set(EXPECTED.map(([c, f, t]) => key(c, f, t)));

describe('agreement state table', () => {
  it('allows exactly the listed moves, for every cause and every (from, to) pair', () => {
    const pairs = CAUSES.flatMap((cause) => FROM.flatMap((from) => STATUSES.map((to) => ({ cause, from, to }))));
    expect(pairs).toHaveLength(8 * 6 * 5);
    const allowed = pairs.filter((p) => isAllowedTransition(p.from, p.to, p.cause)).map((p) => key(p.cause, p.from, p.to));
    expect(allowed.sort()).toEqual([...expected].sort());
    // …and assertTransition agrees with it pair by pair.
    for (const { cause, from, to } of pairs) {
      const ok = expected.has(key(cause, from, to));
      if (ok) expect(() => assertTransition(from, to, cause)).not.toThrow();
      else expect(() => assertTransition(from, to, cause)).toThrow(RefusedAgreementTransitionError);
    }
  });

  it('leaves TERMINATED and EXPIRED final', () => {
    for (const cause of CAUSES) {
      for (const to of STATUSES) {
        expect(isAllowedTransition(TERMINATED, to, cause)).toBe(false);
        expect(isAllowedTransition(EXPIRED, to, cause)).toBe(false);
      }
    }
  });

  it('gives a bulk move its WHERE statuses, and none for a target the cause never reaches', () => {
    expect(allowedFromStatuses(AgreementCause.EXPIRE, EXPIRED).sort()).toEqual([ACTIVE, PENDING_PAYMENT, SUSPENDED]);
    expect(allowedFromStatuses(AgreementCause.SUSPEND_NON_PAYMENT, SUSPENDED)).toEqual([ACTIVE]);
    expect(allowedFromStatuses(AgreementCause.REINSTATE_PAYMENT, ACTIVE)).toEqual([SUSPENDED]);
    expect(allowedFromStatuses(AgreementCause.EXPIRE, ACTIVE)).toEqual([]);
    expect(allowedFromStatuses(AgreementCause.ACCEPT, ACTIVE)).toEqual([]); // creation is never a bulk UPDATE
    for (const cause of CAUSES) {
      for (const to of STATUSES) {
        const froms = EXPECTED.filter(([c, f, t]) => c === cause && t === to && f !== null).map(([, f]) => f);
        expect(allowedFromStatuses(cause, to).sort()).toEqual(froms.sort());
      }
    }
  });

  it('only lifts NON_PAYMENT suspensions on payment, and only the non-payment suspension records that cause', () => {
    expect(AGREEMENT_TRANSITIONS[AgreementCause.REINSTATE_PAYMENT].requiresSuspensionCause).toBe('NON_PAYMENT');
    expect(CAUSES.filter((c) => AGREEMENT_TRANSITIONS[c].setsSuspensionCause !== undefined)).toEqual([AgreementCause.SUSPEND_NON_PAYMENT]);
    expect(CAUSES.filter((c) => AGREEMENT_TRANSITIONS[c].requiresSuspensionCause !== undefined)).toEqual([AgreementCause.REINSTATE_PAYMENT]);
  });

  it('refuses with a typed INTERNAL error naming the cause and both statuses', () => {
    const err = (() => {
      try {
        assertTransition(TERMINATED, ACTIVE, AgreementCause.VENDOR_REINSTATE);
      } catch (e) {
        return e;
      }
    })() as RefusedAgreementTransitionError;
    expect(err).toBeInstanceOf(RefusedAgreementTransitionError);
    expect(err.code).toBe('INTERNAL');
    expect(err.details).toEqual({ cause: 'VENDOR_REINSTATE', from: 'TERMINATED', to: 'ACTIVE' });
    expect(err.message).toBe('Agreement status change refused: VENDOR_REINSTATE cannot move TERMINATED to ACTIVE');
  });
});
