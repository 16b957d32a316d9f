import type { EntityManager } from 'typeorm';
import { readTogether } from './transaction';

/** Reads that record how many of them run at the same time. */
function probe() {
  let running = 0;
  let most = 0;
  const read = (value: number) => async () => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running -= 1;
    return value;
  };
  return { read, most: () => most };
}

describe('readTogether', () => {
  it('runs reads concurrently on the pool and keeps their order', async () => {
    const p = probe();
    const out = await readTogether({} as EntityManager, [p.read(1), p.read(2), p.read(3)]);
    expect(out).toEqual([1, 2, 3]);
    expect(p.most()).toBe(3);
  });

  it('runs them one at a time on a connection-bound manager (a transaction)', async () => {
    const p = probe();
    const out = await readTogether({ queryRunner: {} } as unknown as EntityManager, [p.read(1), p.read(2), p.read(3)]);
    expect(out).toEqual([1, 2, 3]);
    expect(p.most()).toBe(1);
  });
});
