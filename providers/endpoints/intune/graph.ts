/**
 * Microsoft Graph for the intune driver, on the provider kit's ApiClient
 * (pinning, OAuth2 client credentials, budget, retries, error mapping): whole
 * collections (`@odata.nextLink` paging) and JSON batching.
 *
 * JSON batching (`POST /v1.0/$batch`, learn.microsoft.com/graph/json-batching):
 * - at most 20 requests per batch; the batch answers HTTP 200 whatever its
 *   requests did, so errors hide inside it: each response carries its own
 *   status, headers and body (corpus graph/common/batch.json);
 * - the requests of a batch are processed and throttled one by one ("each
 *   sub-request is processed independently. If one sub-request exceeds the
 *   rate limit, it may return a 429 error, but other sub-requests can still
 *   succeed", Microsoft Q&A 5529013 on Graph batching): a batch of 20 uses 20
 *   units of the budget, and single requests inside it can come back 429 with
 *   their own Retry-After. Those are
 *   sent again in a later batch, after the wait the kit's retry policy
 *   decides (retry.ts: Retry-After, else jittered backoff), up to its attempts;
 * - a collection inside a batch pages like any other: its `@odata.nextLink`
 *   (absolute, checked to be on Graph's own origin) goes into the next batch.
 */
import { createHash } from 'node:crypto';
import type { ApiClient, QueryValue } from '../../kit/client.js';
import type { Clock } from '../../kit/clock.js';
import { ApiError, httpStatusError } from '../../kit/errors.js';
import { ambiguousLiveError } from '../../kit/natural-key.js';
import { collect, odataPages } from '../../kit/paging.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDecision } from '../../kit/retry.js';

/** Graph's limit of requests per JSON batch. */
export const BATCH_LIMIT = 20;
export const API_VERSION = '/v1.0';

/** An OData string literal: quoted, single quotes doubled. */
export function odataString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `mailNickname` Entra requires for every group: ASCII without `@ ( ) \ [ ] " ; : < > ,` and spaces, at most 64; made unique by a hash of the name. */
export function mailNickname(displayName: string): string {
  const base = displayName.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '').slice(0, 50) || 'group';
  return `${base}-${createHash('sha256').update(displayName).digest('hex').slice(0, 8)}`;
}

interface BatchItem {
  id: string;
  url: string;
  attempts: number;
  /** Collected pages of a collection request. */
  items: unknown[];
}

export type BatchOutcome = { status: number; body: any };

interface BatchResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: any;
}

/** Batches sent at once by getMany. */
const BATCHES_IN_FLIGHT = 4;

export class Graph {
  constructor(
    readonly http: ApiClient,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Every item of a collection (all pages). */
  list<T = any>(path: string, query: Record<string, QueryValue> = {}): Promise<T[]> {
    return collect(odataPages<T>(this.http, path, { query }));
  }

  /**
   * The one object of a collection with this displayName (compared as Graph's
   * `$filter eq` does: without case), undefined when there is none,
   * E_AMBIGUOUS_LIVE naming every id when there are several.
   */
  async findOne<T extends { id: string; displayName: string }>(kind: string, path: string, displayName: string, query: Record<string, QueryValue> = {}): Promise<T | undefined> {
    const found = await this.list<T>(path, { ...query, $filter: `displayName eq ${odataString(displayName)}` });
    const same = found.filter((o) => o.displayName.toLowerCase() === displayName.toLowerCase());
    if (same.length > 1) throw ambiguousLiveError(kind, displayName, same.map((o) => o.id));
    return same[0];
  }

  /** A batch-relative URL (`/groups/..`) for an absolute Graph link on this origin. */
  private relative(link: string): string {
    const path = this.http.resolve(link); // E_FOREIGN_ORIGIN for another host
    return path.startsWith(API_VERSION + '/') ? path.slice(API_VERSION.length) : path;
  }

  /**
   * GETs `urls` (relative to /v1.0) in batches of 20. A collection answer
   * (`value`) is read to its end through its next links; the result for each
   * url is its body (for a collection: `{ value: [all items] }`). Statuses in
   * `accept` come back as outcomes; any other error throws, as a direct request would.
   */
  async getMany(urls: string[], accept: number[] = []): Promise<BatchOutcome[]> {
    const out: BatchOutcome[] = new Array(urls.length);
    let queue: BatchItem[] = urls.map((url, i) => ({ id: String(i), url, attempts: 0, items: [] }));
    while (queue.length) {
      const next: BatchItem[] = [];
      let waitMs = 0;
      const chunks: BatchItem[][] = [];
      for (let i = 0; i < queue.length; i += BATCH_LIMIT) chunks.push(queue.slice(i, i + BATCH_LIMIT));
      // a few batches in flight at once (the client's connection pool bounds them anyway)
      let cursor = 0;
      const worker = async () => {
        while (cursor < chunks.length) {
          const chunk = chunks[cursor++];
          const res = await this.http.post<{ responses?: BatchResponse[] }>(
            '/$batch',
            { requests: chunk.map((c) => ({ id: c.id, method: 'GET', url: c.url })) },
            { write: false, idempotent: true, units: chunk.length },
          );
          const byId = new Map((res?.responses ?? []).map((r) => [r.id, r]));
          for (const item of chunk) {
            const retryMs = this.settle(item, byId.get(item.id), out, next, accept);
            if (retryMs !== undefined) waitMs = Math.max(waitMs, retryMs);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(BATCHES_IN_FLIGHT, chunks.length) }, worker));
      if (waitMs > 0) await this.clock.sleep(waitMs);
      queue = next;
    }
    return out;
  }

  /** Files one batch response: a result, a next page to fetch, or a retry (returns its delay). */
  private settle(item: BatchItem, r: BatchResponse | undefined, out: BatchOutcome[], next: BatchItem[], accept: number[]): number | undefined {
    if (!r) throw new ApiError(`POST /v1.0/$batch: no answer for GET ${item.url}`, 'E_BAD_RESPONSE');
    item.attempts++;
    if (r.status >= 200 && r.status < 300) {
      const body = r.body;
      if (body && Array.isArray(body.value)) {
        item.items.push(...body.value);
        const link = body['@odata.nextLink'];
        if (typeof link === 'string' && link) {
          next.push({ ...item, url: this.relative(link), attempts: 0 });
          return undefined;
        }
        out[Number(item.id)] = { status: r.status, body: { ...body, value: item.items } };
      } else out[Number(item.id)] = { status: r.status, body };
      return undefined;
    }
    if (accept.includes(r.status)) {
      out[Number(item.id)] = { status: r.status, body: r.body };
      return undefined;
    }
    const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const d = retryDecision(
      { status: r.status, retryAfterMs: parseRetryAfter(headers['retry-after'], this.clock.now()) },
      { attempt: item.attempts, idempotent: true, policy: DEFAULT_RETRY, random: this.random },
    );
    if (!d.retry) throw httpStatusError(r.status, { method: 'GET', path: API_VERSION + item.url, body: r.body, attempts: item.attempts });
    next.push(item);
    return d.delayMs;
  }
}

/** 400 "One or more added object references already exist" (the device is already a member). */
export function isAlreadyMember(e: unknown): boolean {
  return e instanceof ApiError && e.detail.status === 400 && /already exist/i.test(e.message);
}

/**
 * 400/404 "... does not exist or one of its queried reference-property objects
 * are not present": right after a group was created, directory replication may
 * not have reached the replica that serves the next request (learn
 * group-post-members; research/intune-graph.md).
 */
export function isNotYetConsistent(e: unknown): boolean {
  return e instanceof ApiError && (e.detail.status === 400 || e.detail.status === 404) && /(does|do) not exist|not present/i.test(e.message);
}
