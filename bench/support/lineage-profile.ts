/**
 * A small in-process CPU profile (V8's sampling profiler through node:inspector)
 * for the lineage benchmark: runs `work` and returns the functions with the
 * most self time, so the benchmark can say where the feature's CPU goes.
 */
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  selfMs: number;
  share: number;
  /** The caller most of its samples came from. */
  caller: string;
}

export async function hotFunctions(work: () => Promise<void>, root: string, top = 10): Promise<{ totalMs: number; functions: HotFunction[] }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await work();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parentOf = new Map<number, ProfileNode>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
    const label = (n: ProfileNode) => {
      const { functionName, url, lineNumber } = n.callFrame;
      const where = url ? `${relative(root, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
      return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    };
    const callers = new Map<string, Map<string, number>>();
    const self = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
      const n = byId.get(id)!;
      const dt = (profile.timeDeltas[i] ?? 0) / 1000;
      if (n.callFrame.functionName === '(idle)') return;
      // Profiler.stop itself (serialising the profile) is sampled too: not the work's.
      for (let a: ProfileNode | undefined = n; a; a = parentOf.get(a.id)) if (a.callFrame.url === 'node:inspector') return;
      const key = label(n);
      self.set(key, (self.get(key) ?? 0) + dt);
      const parent = parentOf.get(n.id);
      const c = callers.get(key) ?? new Map<string, number>();
      const pk = parent ? label(parent) : '-';
      c.set(pk, (c.get(pk) ?? 0) + dt);
      callers.set(key, c);
      total += dt;
    });
    const functions = [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, selfMs: ms, share: ms / total, caller: [...callers.get(name)!.entries()].sort((a, b) => b[1] - a[1])[0][0] }));
    return { totalMs: total, functions };
  } finally {
    await session.post('Profiler.disable').catch(() => undefined);
    session.disconnect();
  }
}
