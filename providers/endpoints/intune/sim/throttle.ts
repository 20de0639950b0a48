/**
 * Graph's throttling for one tenant and app, as the simulator enforces it
 * (learn graph/throttling-limits, Intune service limits: 1000 requests and
 * 100 writes per 20 s per app and tenant): every request, and every request
 * inside a JSON batch on its own, counts; one over the limit gets 429 with
 * Graph's body (corpus graph/common/throttling_429.json) and `Retry-After` in
 * seconds, unless the simulator is told to leave the header out (some Intune
 * 429s come without it: research/intune-graph.md). Admitted writes are
 * recorded, so tests can prove no window ever held more than the limit.
 */
import type { Clock } from '../../../kit/clock.js';
import { FixedWindowLimiter } from '../../../kit/sim/rate-limit.js';
import { jsonResponse, type SimResponse } from '../../../kit/sim/types.js';

export interface ThrottleOptions {
  requests?: number;
  writes?: number;
  windowMs?: number;
  /** Answer 429 without Retry-After. */
  omitRetryAfter?: boolean;
}

export function tooManyRequests(retryAfter?: string): SimResponse {
  const date = new Date().toISOString().slice(0, 19);
  return jsonResponse(
    429,
    { error: { code: 'TooManyRequests', innerError: { code: '429', date, message: 'Please retry after', 'request-id': date, status: '429' }, message: 'Please retry again later.' } },
    retryAfter === undefined ? {} : { 'retry-after': retryAfter },
  );
}

export class TenantThrottle {
  readonly limits: Required<Omit<ThrottleOptions, 'omitRetryAfter'>>;
  private all!: FixedWindowLimiter;
  private writeLimiter!: FixedWindowLimiter;
  /** Clock times of admitted writes. */
  readonly writeTimes: number[] = [];
  /** Requests admitted, each request of a batch on its own (what Graph counts against its limits). */
  admitted = 0;
  refused = 0;

  constructor(
    private readonly clock: Clock,
    private readonly o: ThrottleOptions = {},
  ) {
    this.limits = { requests: o.requests ?? 1000, writes: o.writes ?? 100, windowMs: o.windowMs ?? 20_000 };
    this.reset();
  }

  /** New windows: as if the last request were a full window ago (benches that space their runs). */
  reset(): void {
    const now = () => this.clock.now();
    this.all = new FixedWindowLimiter({ limit: this.limits.requests, windowMs: this.limits.windowMs, now });
    this.writeLimiter = new FixedWindowLimiter({ limit: this.limits.writes, windowMs: this.limits.windowMs, now });
  }

  /** Counts one request; a 429 when it is over a limit. */
  admit(write: boolean): SimResponse | undefined {
    const verdict = write ? this.writeLimiter.hit() : this.all.hit();
    const both = write && verdict.allowed ? this.all.hit() : verdict;
    if (both.allowed) {
      this.admitted++;
      if (write) this.writeTimes.push(this.clock.now());
      return undefined;
    }
    this.refused++;
    return tooManyRequests(this.o.omitRetryAfter ? undefined : String(both.retryAfterSeconds));
  }

  /** Most admitted writes in any window of `windowMs` (default: the limit's window). */
  maxWritesInWindow(windowMs = this.limits.windowMs): number {
    let best = 0;
    let start = 0;
    for (let end = 0; end < this.writeTimes.length; end++) {
      while (this.writeTimes[end] - this.writeTimes[start] >= windowMs) start++;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }
}
