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

/**
 * Holds each call of `obj[method]` after it returned until `n` calls have
 * returned or `graceMs` passed, whichever comes first: callers that a lock
 * serialises go through one by one (each waits out the grace), callers that
 * nothing serialises all hold their result at once — so a missing lock shows
 * as every caller acting on the same read.
 */
export function holdAfter<T extends object, K extends keyof T>(obj: T, method: K, n: number, graceMs = 400): { returned(): number; restore(): void } {
  const original = (obj[method] as unknown as (...a: unknown[]) => Promise<unknown>).bind(obj);
  let returned = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const spy = jest.spyOn(obj, method as never).mockImplementation((async (...args: unknown[]) => {
    const result = await original(...args);
    if (++returned >= n) open();
    await Promise.race([gate, new Promise((r) => setTimeout(r, graceMs))]);
    return result;
  }) as never);
  return { returned: () => returned, restore: () => spy.mockRestore() };
}

/** Holds every call of `obj[method]` until `n` calls are waiting, then runs them all at once. */
export function barrierBefore<T extends object, K extends keyof T>(obj: T, method: K, n: number): { arrived(): number; restore(): void } {
  const original = (obj[method] as unknown as (...a: unknown[]) => Promise<unknown>).bind(obj);
  let arrived = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const spy = jest.spyOn(obj, method as never).mockImplementation((async (...args: unknown[]) => {
    if (++arrived >= n) open();
    await gate;
    return original(...args);
  }) as never);
  return { arrived: () => arrived, restore: () => spy.mockRestore() };
}
