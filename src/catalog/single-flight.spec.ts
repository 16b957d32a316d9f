import { SingleFlight } from './single-flight';

describe('SingleFlight', () => {
  it('shares one load among concurrent callers of a key, and forgets it once settled', async () => {
    const sf = new SingleFlight<number>();
    let loads = 0;
    let release!: (v: number) => void;
    const load = () => {
      loads += 1;
      return new Promise<number>((r) => (release = r));
    };
    const a = sf.run('k', load);
    const b = sf.run('k', load);
    const other = sf.run('other', () => Promise.resolve(7));
    expect(loads).toBe(1);
    release(42);
    expect(await Promise.all([a, b, other])).toEqual([42, 42, 7]);
    expect(sf.size).toBe(0);
    await sf.run('k', () => Promise.resolve(1)).then((v) => expect(v).toBe(1)); // a later call loads again
  });

  it('a failed load is not kept', async () => {
    const sf = new SingleFlight<number>();
    await expect(sf.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(sf.size).toBe(0);
    await expect(sf.run('k', () => Promise.resolve(2))).resolves.toBe(2);
  });
});
