import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { RecordResult, UsageRecorder, UsageToRecord } from '../usage/usage-recorder.service';
import { GatewayUsageBatcher } from './usage-batcher';

const event = (eventId: string): UsageToRecord => ({
  agreementId: 'a',
  eventId,
  source: 'GATEWAY',
  occurredAt: new Date(0),
  inputTokens: 1n,
  outputTokens: 1n,
  estimated: false,
  payloadHash: Buffer.alloc(32),
  metadata: null,
  apiKeyId: null,
  quota: null,
});

/** A recorder that answers after a tick and remembers the batches it was given. */
function recorder(fail: (ids: string[]) => boolean = () => false) {
  const calls: Array<{ ids: string[]; release: readonly string[] }> = [];
  const r = {
    async record(_em: unknown, events: readonly UsageToRecord[], release: readonly string[] = []): Promise<RecordResult[]> {
      const ids = events.map((e) => e.eventId);
      calls.push({ ids, release });
      await new Promise((res) => setTimeout(res, 5));
      if (fail(ids)) throw new Error(`bad batch ${ids.join(',')}`);
      return events.map(() => ({ outcome: 'ACCEPTED' as const, overageTokens: 0n }));
    },
  };
  return { calls, batcher: new GatewayUsageBatcher({ reader: {} } as unknown as Database, r as unknown as UsageRecorder, { gatewayUsageCommit: 'durable' } as AppConfig) };
}

describe('GatewayUsageBatcher', () => {
  it('records a lone event at once, and groups the events that arrive while a write is in flight', async () => {
    const { calls, batcher } = recorder();
    const first = batcher.record(event('e0'), 'r0');
    const rest = Array.from({ length: 9 }, (_, i) => batcher.record(event(`e${i + 1}`), null));
    const results = await Promise.all([first, ...rest]);
    expect(results).toHaveLength(10);
    expect(calls.map((c) => c.ids)).toEqual([['e0'], ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']]);
    expect(calls[0].release).toEqual(['r0']);
    expect(calls[1].release).toEqual([]);
  });

  it('isolates a failing event: its neighbours are recorded one by one, only it fails', async () => {
    const { calls, batcher } = recorder((ids) => ids.includes('bad'));
    const first = batcher.record(event('warm'), null);
    const a = batcher.record(event('ok1'), null);
    const bad = batcher.record(event('bad'), null);
    const b = batcher.record(event('ok2'), null);
    await first;
    await expect(a).resolves.toEqual({ outcome: 'ACCEPTED', overageTokens: 0n });
    await expect(bad).rejects.toThrow(/bad/);
    await expect(b).resolves.toEqual({ outcome: 'ACCEPTED', overageTokens: 0n });
    expect(calls.map((c) => c.ids)).toEqual([['warm'], ['ok1', 'bad', 'ok2'], ['ok1'], ['bad'], ['ok2']]);
  });
});
