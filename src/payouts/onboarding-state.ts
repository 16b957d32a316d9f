/**
 * The `state` carried by the onboarding refresh and return URLs. The processor
 * sends the vendor's browser there, without our Authorization header, so the
 * URL itself names who started onboarding: organization, user and expiry,
 * signed with an HMAC key derived from JWT_SECRET. It authenticates the user
 * for these two pages only; whether they are still an owner (or a member) is
 * checked again on every use.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const ONBOARDING_STATE_TTL_SECONDS = 7 * 24 * 3600;

export interface OnboardingState {
  organizationId: string;
  userId: string;
  /** Unix seconds. */
  expiresAt: number;
}

function keyOf(jwtSecret: string): Buffer {
  return createHmac('sha256', jwtSecret).update('beiming payout onboarding state v1').digest();
}

export function signOnboardingState(jwtSecret: string, s: OnboardingState): string {
  const body = Buffer.from(JSON.stringify({ o: s.organizationId, u: s.userId, e: s.expiresAt })).toString('base64url');
  const mac = createHmac('sha256', keyOf(jwtSecret)).update(body).digest('base64url');
  return `${body}.${mac}`;
}

/** The state, or null when it is malformed, tampered with or expired. */
export function verifyOnboardingState(jwtSecret: string, token: string, nowSeconds: number): OnboardingState | null {
  const m = /^([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const expected = createHmac('sha256', keyOf(jwtSecret)).update(m[1]).digest();
  const given = Buffer.from(m[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const p = parsed as { o?: unknown; u?: unknown; e?: unknown };
  if (typeof p.o !== 'string' || typeof p.u !== 'string' || typeof p.e !== 'number') return null;
  if (!(p.e > nowSeconds)) return null;
  return { organizationId: p.o, userId: p.u, expiresAt: p.e };
}
