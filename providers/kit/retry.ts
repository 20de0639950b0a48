/**
 * When to try a request again, and how long to wait first.
 *
 * Retried for every method (the server provably did not process the request):
 *   - HTTP 429 and 503 (throttled / unavailable: the request was refused);
 *   - errors before the request was written (refused connection, connect
 *     timeout; never a TLS pin mismatch or an untrusted certificate).
 * Retried only for idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS, or a
 * request the driver marks idempotent, e.g. OPNsense `setRule/{uuid}` upserts
 * or JSON-RPC reads): other 5xx, a timeout or dropped connection after the
 * request was sent, a truncated response.
 *
 * Delay: the server's Retry-After when it sends one (never less, up to 10 %
 * more so that clients do not return in lock-step), else exponential backoff
 * `base * 2^(n-1)` capped at `maxDelayMs`, jittered to 50..100 % of that.
 * A Retry-After longer than `maxRetryAfterMs` ends the retries at once: the
 * driver reports the throttling instead of hanging a plan for an hour.
 *
 * Evidence on Retry-After (the research sheets mark parts UNVERIFIED):
 * - Graph: 429 carries `Retry-After` in seconds, possibly fractional — the
 *   documented example is `"Retry-After": "2.128"`
 *   (/work/shared/corpus/graph/common/throttling_429.json); some Intune 429s
 *   come without it (research/intune-graph.md), so backoff must work alone.
 * - Snipe-IT: Laravel's throttle middleware attaches `Retry-After` and
 *   `X-RateLimit-Reset` to the 429 exception (laravel/framework
 *   src/Illuminate/Routing/Middleware/ThrottleRequests.php, getHeaders), but
 *   Snipe-IT's exception handler renders a fresh
 *   `response()->json(formatStandardApiResponse('error', null, 'Too many requests'), 429)`
 *   without copying the exception's headers (snipe/snipe-it
 *   app/Exceptions/Handler.php, render(), commit 7a1b17ff6a98); older versions
 *   even answer the 429 as HTTP 405 with messages "429" (same file at
 *   0715b569505b, `default:` branch). So expect a 429 without Retry-After.
 * - RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date.
 */
import type { ApiError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest server-requested wait the client accepts. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** True for the methods HTTP defines as idempotent. */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/**
 * A Retry-After header value as milliseconds from `nowMs`: delay-seconds
 * (fractions accepted, as Graph sends them) or an HTTP-date (a date in the
 * past means 0). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The jittered exponential delay before retry number `retry` (1 = first retry). */
export function backoffDelay(retry: number, p: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** What went wrong with one attempt: an HTTP status that arrived, or a transport error. */
export type AttemptOutcome = { status: number; retryAfterMs?: number } | { error: ApiError };

export type RetryDecision = { retry: true; delayMs: number; reason: string } | { retry: false; reason?: string };

/**
 * Whether to retry after `attempt` attempts (1-based) ended in `outcome`.
 * Pure: the caller sleeps and counts. `reason` explains a refusal that is
 * worth telling the user (a Retry-After beyond the cap).
 */
export function retryDecision(outcome: AttemptOutcome, o: { attempt: number; idempotent: boolean; policy: RetryPolicy; random: () => number }): RetryDecision {
  const { policy: p } = o;
  if (o.attempt >= p.maxAttempts) return { retry: false };
  const backoff = () => backoffDelay(o.attempt, p, o.random);
  if ('status' in outcome) {
    const s = outcome.status;
    if (s === 429 || s === 503) {
      const ra = outcome.retryAfterMs;
      if (ra === undefined) return { retry: true, delayMs: backoff(), reason: `HTTP ${s}` };
      if (ra > p.maxRetryAfterMs) {
        return { retry: false, reason: `the server asks to wait ${Math.ceil(ra / 1000)} s (Retry-After), longer than the ${Math.round(p.maxRetryAfterMs / 1000)} s this client waits` };
      }
      return { retry: true, delayMs: Math.round(ra * (1 + o.random() / 10)), reason: `HTTP ${s} with Retry-After` };
    }
    if (s >= 500 && o.idempotent) return { retry: true, delayMs: backoff(), reason: `HTTP ${s}` };
    return { retry: false };
  }
  const e = outcome.error;
  if (e.code === 'E_TLS_FINGERPRINT' || e.code === 'E_TLS' || e.code === 'E_RESPONSE_TOO_LARGE') return { retry: false };
  if (e.detail.notSent) return { retry: true, delayMs: backoff(), reason: e.code };
  if (o.idempotent && ['E_TIMEOUT', 'E_CONNECTION_DROPPED', 'E_TRUNCATED_RESPONSE'].includes(e.code)) return { retry: true, delayMs: backoff(), reason: e.code };
  return { retry: false };
}
