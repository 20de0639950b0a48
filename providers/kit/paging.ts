/**
 * Reading whole collections from APIs that hand them out in pages. Each helper
 * is an async generator of items, so a driver can stop early, and `collect`
 * gathers them. Every helper stops a server that loops (a next link or cursor
 * seen before) or never ends (`maxPages`) with E_PAGING instead of spinning.
 *
 * - odataPages: Microsoft Graph `{"value":[...],"@odata.nextLink":"<absolute URL>"}`;
 *   the client follows the link until it is absent (learn `graph/paging`).
 *   A link to another origin is refused (ApiClient.resolve, E_FOREIGN_ORIGIN):
 *   the token is never sent elsewhere.
 * - offsetPages: `limit`/`offset` with `{"total":N,"rows":[...]}` (Snipe-IT).
 *   It advances by the rows actually received (a server that clamps `limit`,
 *   Snipe-IT to 500, loses nothing) and stops at `total` (Snipe-IT resets an
 *   offset >= total to 0 for seats, which would otherwise repeat page one forever).
 * - cursorPages: any "fetch page, get next cursor" scheme.
 */
import type { ApiClient, QueryValue, RequestOptions } from './client.js';
import { ApiError } from './errors.js';

export interface PagingLimits {
  /** Refuse to read more pages than this (default 10 000). */
  maxPages?: number;
}

const DEFAULT_MAX_PAGES = 10_000;

function pagingError(message: string): ApiError {
  return new ApiError(message, 'E_PAGING');
}

/** Items of a generic cursor scheme: `fetch(undefined)` is the first page; a page without `next` is the last. */
export async function* cursorPages<T, C>(fetch: (cursor: C | undefined) => Promise<{ items: T[]; next?: C }>, o: PagingLimits & { describe?: string } = {}): AsyncGenerator<T> {
  const max = o.maxPages ?? DEFAULT_MAX_PAGES;
  const seen = new Set<string>();
  let cursor: C | undefined;
  for (let page = 1; ; page++) {
    const { items, next } = await fetch(cursor);
    yield* items;
    if (next === undefined || next === null) return;
    const key = JSON.stringify(next);
    if (seen.has(key)) throw pagingError(`${o.describe ?? 'paging'}: the server returned the same next page twice (${key.slice(0, 200)}); stopping instead of looping`);
    seen.add(key);
    if (page >= max) throw pagingError(`${o.describe ?? 'paging'}: more than ${max} pages; stopping (raise maxPages if the collection really is that large)`);
    cursor = next;
  }
}

/** Items of an OData collection, following `@odata.nextLink` on the same origin only. */
export function odataPages<T = any>(client: ApiClient, path: string, o: PagingLimits & RequestOptions = {}): AsyncGenerator<T> {
  const { maxPages, ...req } = o;
  return cursorPages<T, string>(
    async (next) => {
      const body = await client.get(next ?? path, next ? { ...req, query: undefined } : req);
      if (!body || !Array.isArray(body.value)) throw new ApiError(`GET ${path}: not an OData collection (no "value" array)`, 'E_BAD_RESPONSE');
      const link = body['@odata.nextLink'];
      if (link !== undefined && typeof link !== 'string') throw new ApiError(`GET ${path}: @odata.nextLink is not a string`, 'E_BAD_RESPONSE');
      // Refuse a foreign link here, before the next fetch: resolve() throws E_FOREIGN_ORIGIN.
      if (link) client.resolve(link);
      return { items: body.value as T[], next: link || undefined };
    },
    { maxPages, describe: `GET ${path}` },
  );
}

/** Items of a `limit`/`offset` collection answering `{"total":N,"rows":[...]}`. */
export function offsetPages<T = any>(client: ApiClient, path: string, o: PagingLimits & RequestOptions & { limit?: number } = {}): AsyncGenerator<T> {
  const { maxPages, limit = 500, query, ...req } = o;
  return cursorPages<T, number>(
    async (cursor) => {
      const offset = cursor ?? 0;
      const body = await client.get(path, { ...req, query: { ...(query as Record<string, QueryValue>), limit, offset } });
      const rows = body?.rows;
      const total = Number(body?.total);
      if (!Array.isArray(rows) || !Number.isInteger(total)) throw new ApiError(`GET ${path}: not a {total, rows} page`, 'E_BAD_RESPONSE');
      const end = offset + rows.length;
      return { items: rows as T[], next: rows.length > 0 && end < total ? end : undefined };
    },
    { maxPages, describe: `GET ${path}` },
  );
}

/** All items of a paged collection. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}
