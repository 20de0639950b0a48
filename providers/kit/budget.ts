/**
 * A per-target request budget: stay inside the server's published limits
 * instead of running into 429s, and stop a runaway loop before it floods a
 * production system.
 *
 * - `requests` / `writes`: at most `count` requests (writes) in any sliding
 *   window of `windowMs`. A request that would exceed it is delayed until it
 *   fits (Graph: 100 writes per 20 s per app and tenant for Intune
 *   configuration; Snipe-IT: 120 requests per minute).
 * - `maxTotal`: a hard cap on requests in this budget's life (one run). The
 *   request that would exceed it fails with E_BUDGET_EXHAUSTED — loudly,
 *   because a correct plan never needs that many.
 *
 * Slots are handed out first come, first served: each caller's slot is no
 * earlier than the previous caller's, so the time stamps stay sorted and one
 * check per window proves no window ever holds more than `count`. Share one
 * RequestBudget between clients that talk to the same tenant.
 */
import { ApiError } from './errors.js';
import { systemClock, type Clock } from './clock.js';

export interface WindowLimit {
  count: number;
  windowMs: number;
}

export interface BudgetLimits {
  requests?: WindowLimit;
  writes?: WindowLimit;
  maxTotal?: number;
}

export interface BudgetCounters {
  /** Requests admitted (each retry and token request counts: the server counts them too). */
  requests: number;
  writes: number;
  /** Requests that had to wait for a window, and the total wait. */
  delayed: number;
  waitedMs: number;
}

/** Sorted slot times of one window limit. */
class SlidingWindow {
  private readonly times: number[] = [];

  constructor(private readonly limit: WindowLimit) {
    if (!(limit.count >= 1) || !(limit.windowMs > 0)) throw new Error(`invalid window limit ${JSON.stringify(limit)}`);
  }

  /** Earliest time >= `t` at which `units` more fit (a request larger than the window takes the whole window). */
  earliest(t: number, units = 1): number {
    const { count, windowMs } = this.limit;
    while (this.times.length && this.times[0] <= t - windowMs) this.times.shift();
    const keep = count - Math.min(units, count);
    return this.times.length <= keep ? t : Math.max(t, this.times[this.times.length - keep - 1] + windowMs);
  }

  take(t: number, units = 1): void {
    for (let i = 0; i < Math.min(units, this.limit.count); i++) this.times.push(t);
  }
}

export class RequestBudget {
  readonly counters: BudgetCounters = { requests: 0, writes: 0, delayed: 0, waitedMs: 0 };
  private readonly all?: SlidingWindow;
  private readonly writes?: SlidingWindow;
  private last = -Infinity;

  constructor(
    private readonly limits: BudgetLimits = {},
    private readonly o: { clock?: Clock; label?: string } = {},
  ) {
    if (limits.requests) this.all = new SlidingWindow(limits.requests);
    if (limits.writes) this.writes = new SlidingWindow(limits.writes);
  }

  /**
   * Waits until one more request (a write if `write`) fits every window, and
   * counts it. Throws E_BUDGET_EXHAUSTED, without waiting, when the run's cap
   * is reached. `units`: how much of the server's windows the request uses
   * (Graph counts each request inside a JSON batch against its limits, so a
   * batch of 20 is 20 units); the run cap counts requests.
   */
  async acquire(write: boolean, units = 1): Promise<void> {
    const clock = this.o.clock ?? systemClock;
    const max = this.limits.maxTotal;
    if (max !== undefined && this.counters.requests >= max) {
      throw new ApiError(
        `${this.o.label ? `${this.o.label}: ` : ''}request budget exhausted: ${max} requests already sent in this run ` +
          `(runaway guard; raise the driver's maxTotal only if a plan really needs more)`,
        'E_BUDGET_EXHAUSTED',
        { notSent: true },
      );
    }
    const now = clock.now();
    let slot = Math.max(now, this.last);
    if (this.all) slot = this.all.earliest(slot, units);
    // earliest() is max(t, threshold): a later slot from the write window still fits the request window
    if (write && this.writes) slot = this.writes.earliest(slot, units);
    this.all?.take(slot, units);
    if (write) this.writes?.take(slot, units);
    this.last = slot;
    this.counters.requests++;
    if (write) this.counters.writes++;
    if (slot > now) {
      this.counters.delayed++;
      this.counters.waitedMs += slot - now;
      await clock.sleep(slot - now);
    }
  }
}
