/**
 * Barriers for race tests: callers are held until all of them have arrived,
 * then released together, so the mechanism under test (a lock, a constraint)
 * is what decides — not the order in which the test happened to start them.
 */
import type { EntityManager } from 'typeorm';
import type { UsageRecorder } from '../../src/metering/usage/usage-recorder.service';

/**
 * Holds every `UsageRecorder.preauthorize` call until `n` calls are waiting,
 * then lets them all run at once (each takes its own pooled connection).
 */
export function preauthorizeBarrier(recorder: UsageRecorder, n: number): { arrived(): number; restore(): void } {
  const original = recorder.preauthorize.bind(recorder);
  let arrived = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const spy = jest.spyOn(recorder, 'preauthorize').mockImplementation(async (em: EntityManager, a) => {
    if (++arrived >= n) open();
    await gate;
    return original(em, a);
  });
  return { arrived: () => arrived, restore: () => spy.mockRestore() };
}

/** Polls `probe` until it is truthy, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
