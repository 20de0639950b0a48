/**
 * Time as the kit sees it: backoff delays, Retry-After waits and request
 * budgets all go through a Clock, so tests can run hours of throttling in
 * microseconds (VirtualClock) while production waits for real (systemClock).
 *
 * Socket timeouts are deliberately NOT on the Clock: they guard real I/O and
 * use real timers (make them short in tests instead).
 */

export interface Clock {
  /** Milliseconds since the epoch (the unit of `Date.now()`), also for HTTP-dates in Retry-After. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** Real time. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A clock for tests that advances by itself: whenever sleepers are waiting,
 * it jumps to the earliest wake-up time on the next turn of the event loop and
 * wakes that sleeper. Concurrent sleepers therefore wake in the right order and
 * at the right virtual times, and a test with minutes of backoff finishes at
 * once. `slept` adds up every requested sleep (what production would have waited).
 */
export class VirtualClock implements Clock {
  private t: number;
  private sleepers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  private scheduled = false;
  /** Sum of all sleeps requested so far, in ms. */
  slept = 0;

  constructor(startMs = Date.UTC(2025, 0, 6, 8, 0, 0)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  /** Moves time forward without anyone sleeping (e.g. to let a token expire). */
  advance(ms: number): void {
    this.t += Math.max(0, ms);
  }

  sleep(ms: number): Promise<void> {
    const d = Math.max(0, ms);
    this.slept += d;
    return new Promise((wake) => {
      this.sleepers.push({ at: this.t + d, seq: this.seq++, wake });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.sleepers.length) return;
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.wake();
      if (this.sleepers.length) this.schedule();
    });
  }
}
