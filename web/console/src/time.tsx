/**
 * Business time: the platform's clock, which the sandbox test clock may have
 * moved ahead of real time. Periods, usage ranges and default dates follow it;
 * the header shows it when it is not the real time.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { hasQuery } from './client';

const CLOCK = `query SandboxClock { sandboxClock { now realTime shifted offsetSeconds } }`;

interface Clock {
  /** Milliseconds to add to the browser's time. */
  offsetMs: number;
  shifted: boolean;
}

const ClockContext = createContext<Clock>({ offsetMs: 0, shifted: false });

export function ClockProvider({ children }: { children: ReactNode }) {
  const [{ data }] = useQuery({ query: CLOCK, pause: !hasQuery('sandboxClock'), requestPolicy: 'network-only' });
  const c = data?.sandboxClock;
  // The server's offset from real time, applied to the browser's clock (which may itself be off a little).
  const clock: Clock = c ? { offsetMs: Math.round(c.offsetSeconds * 1000), shifted: c.shifted } : { offsetMs: 0, shifted: false };
  return <ClockContext.Provider value={clock}>{children}</ClockContext.Provider>;
}

/** The platform's current time. */
export function useNow(): Date {
  const { offsetMs } = useContext(ClockContext);
  return new Date(Date.now() + offsetMs);
}

/** Shown in the header while the sandbox clock is ahead of real time. */
export function ClockBadge() {
  const { shifted, offsetMs } = useContext(ClockContext);
  const now = useNow();
  if (!shifted) return null;
  const days = offsetMs / 86_400_000;
  return (
    <span className="clock" title="The sandbox test clock moved the platform's time ahead">
      Sandbox time {now.toISOString().slice(0, 16).replace('T', ' ')} UTC ({days >= 1 ? `${days.toFixed(1)} days` : `${Math.round(offsetMs / 60_000)} min`} ahead)
    </span>
  );
}
