/**
 * What the distiller is told when the upstream fails: a status, a stable code
 * and the billing outcome — never what the upstream wrote (an upstream's error
 * body can quote the request, the vendor's credential included). The detail
 * goes to the vendor's upstream error log and our log, redacted.
 */
import { RestError } from '../../platform/http/rest-errors';
import type { GatewayUpstream } from '../upstream/teacher-upstream.service';
import type { UpstreamFailure } from './upstream-client';

/**
 * What was recorded for a request that failed. The rule (one for every
 * failure, streamed or not): what was delivered to the distiller is recorded —
 * the usage the upstream reported, else an ESTIMATED event (prompt estimate +
 * the text delivered) — and when nothing was delivered, nothing is recorded.
 * The distiller's message says which.
 */
export type FailureBilling =
  | { kind: 'NOTHING' }
  | { kind: 'REPORTED'; inputTokens: bigint; outputTokens: bigint }
  | { kind: 'ESTIMATED'; inputTokens: bigint; outputTokens: bigint };

export function billingPhrase(b: FailureBilling): string {
  switch (b.kind) {
    case 'NOTHING':
      return 'nothing was delivered and nothing was billed';
    case 'REPORTED':
      return `the ${b.inputTokens + b.outputTokens} tokens the upstream reported (${b.inputTokens} prompt, ${b.outputTokens} completion) were recorded`;
    case 'ESTIMATED':
      return `${b.inputTokens + b.outputTokens} tokens (${b.inputTokens} estimated for the prompt, ${b.outputTokens} for the text delivered before the failure) were recorded as estimated usage`;
  }
}

/** The distiller's error for an upstream failure; `billing` says what was recorded. */
export function distillerError(f: UpstreamFailure, upstream: GatewayUpstream, maxRequestMs: number, billing: FailureBilling): RestError {
  const billed = billingPhrase(billing);
  switch (f.kind) {
    case 'STATUS':
      return new RestError(502, 'upstream_error', 'upstream_error', `The teacher's upstream answered ${f.upstreamStatus}; ${billed}. The vendor can see the upstream's detail for this request id`);
    case 'STREAM_ERROR':
      return new RestError(502, 'upstream_error', 'upstream_error', `The teacher's upstream reported an error mid-answer; ${billed}. The vendor can see the upstream's detail for this request id`);
    case 'IDLE_TIMEOUT':
      return new RestError(504, 'upstream_error', 'upstream_timeout', `The teacher's upstream sent nothing for ${upstream.timeoutMs} ms; ${billed}`);
    case 'DEADLINE':
      return new RestError(504, 'upstream_error', 'upstream_timeout', `The request did not finish within the gateway's limit of ${maxRequestMs} ms per request; ${billed}`);
    case 'NOT_PUBLIC':
      return new RestError(502, 'upstream_error', 'upstream_address_not_public', `The teacher's upstream resolves to a private address, which the gateway does not call; ${billed}`);
    case 'MALFORMED':
      return new RestError(502, 'upstream_error', 'upstream_malformed', `The teacher's upstream sent an answer that is not a chat completion; ${billed}`);
    case 'UNREACHABLE':
      return new RestError(502, 'upstream_error', 'upstream_unreachable', `The teacher's upstream could not be reached; ${billed}`);
  }
}
