import { Turnstile } from './turnstile';

describe('Turnstile', () => {
  it('lets `limit` callers in, queues the next ones in order, and refuses past the queue bound', async () => {
    const t = new Turnstile(2, 2);
    expect(await t.enter()).toBe(true);
    expect(await t.enter()).toBe(true);
    const order: number[] = [];
    const third = t.enter().then((ok) => (order.push(3), ok));
    const fourth = t.enter().then((ok) => (order.push(4), ok));
    expect(await t.enter()).toBe(false); // the queue (2) is full
    expect([t.holders, t.queued]).toEqual([2, 2]);
    t.leave();
    t.leave();
    expect(await Promise.all([third, fourth])).toEqual([true, true]);
    expect(order).toEqual([3, 4]);
    expect([t.holders, t.queued]).toEqual([2, 0]);
    t.leave();
    t.leave();
    expect(t.holders).toBe(0);
    t.leave(); // an extra leave never goes below zero
    expect(t.holders).toBe(0);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new Turnstile(0, 1)).toThrow(RangeError);
  });
});
