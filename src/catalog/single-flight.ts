/**
 * Request coalescing ("single flight"): callers asking for the same key while
 * a load is in flight share that load's promise instead of starting another.
 * Nothing is kept after the load settles, so a read never sees data older than
 * a load that was still running when it arrived (no TTL, no invalidation) —
 * a caller that starts after a write has committed, and after every load that
 * began before the commit has settled, always reads the write.
 */
export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  run(key: string, load: () => Promise<V>): Promise<V> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = load().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** Loads in flight (for tests). */
  get size(): number {
    return this.inFlight.size;
  }
}
