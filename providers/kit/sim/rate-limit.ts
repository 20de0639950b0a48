/**
 * Server-side rate limiting for simulators, the way the real systems count:
 * a fixed window that starts with a client's first request and lasts
 * `windowMs` (Laravel's RateLimiter, used by Snipe-IT's `throttle:api`,
 * 120 per minute by default; Graph counts per tenant and app per 20 s).
 * `hit` answers whether one more request is allowed and, if not, after how
 * many seconds the window resets (what a Retry-After would say).
 */
export interface RateLimitOptions {
  limit: number;
  windowMs: number;
  /** Time source (default Date.now). */
  now?: () => number;
}

export type RateLimitVerdict = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  /** Requests refused so far. */
  refused = 0;

  constructor(private readonly o: RateLimitOptions) {}

  /** Counts one request of `key` (a user id, a token, an IP) if it is allowed. */
  hit(key = ''): RateLimitVerdict {
    const now = (this.o.now ?? Date.now)();
    let w = this.windows.get(key);
    if (!w || now >= w.start + this.o.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.o.limit) {
      this.refused++;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.o.windowMs - now) / 1000)) };
    }
    w.count++;
    return { allowed: true, remaining: this.o.limit - w.count };
  }
}
