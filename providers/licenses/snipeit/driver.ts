/**
 * Driver `snipeit`: license pools on Snipe-IT over its REST API v1
 * (`/api/v1`, `Authorization: Bearer <personal access token>`, HTTPS with the
 * certificate pinned before the token is sent), built on the provider kit.
 *
 * Facts it relies on (snipe/snipe-it v8.1.4, commit 5aa5c48; research sheet
 * /work/shared/research/snipeit.md; corpus /work/shared/corpus/snipeit/):
 * - Errors come inside HTTP 200 as `{"status":"error","messages":...}`
 *   (Helper::formatStandardApiResponse): validation errors, "License not
 *   found", a refused delete. Every answer goes through the kit's
 *   statusErrorEnvelope, so a 200 is never taken for a success unchecked.
 * - A failed seat reduction says nothing: License::boot's `updating` hook
 *   returns false when fewer seats are free than would have to go
 *   (adjustSeatCount), `save()` fails without validation errors, and
 *   LicensesController::update answers `{"status":"error","messages":[]}`
 *   (the reason goes to the web session only). So the driver checks the
 *   checked-out count itself before it lowers `seats`, and names the cause.
 * - DELETE works only while no seat is checked out (LicensesController::
 *   destroy, `assigned_seats_count == 0`, else the `assoc_users` message);
 *   the driver checks first and never asks in vain.
 * - Names read back HTML-escaped (wire.ts); the `name` filter compares like
 *   MySQL's utf8mb4_unicode_ci (case-insensitive), so pools are keyed the
 *   same way (kinds.ts poolKey) and two pools whose names differ only in
 *   case are E_AMBIGUOUS_LIVE.
 * - Lists page by `limit`/`offset` with `{total, rows}`; `limit` is clamped to
 *   MAX_RESULTS (500), an offset past the end gives an empty page. Reads sort
 *   by `id` ascending: the default order (`created_at desc`) would shift the
 *   pages when someone adds a license during the read.
 * - 120 requests per minute and user (API_THROTTLE_PER_MINUTE, routes
 *   `throttle:api`); the 429 carries no Retry-After (kit retry.ts). The
 *   session's budget stays below the limit instead of collecting 429s.
 * - `manufacturer_id` is not validated on write (License::$rules has no rule
 *   for it: an unknown id is stored and reads back as manufacturer null), and
 *   a category must only exist (`exists:categories,id`), whatever its type.
 *   The driver resolves both by name first: manufacturers (unique names) and
 *   categories of type license (`?category_type=license`); a name that does
 *   not exist is an error of the plan, before anything is written.
 *
 * - What the research sheet leaves UNVERIFIED, checked in v8.1.4: routes/api.php
 *   offers seats only as the `licenses.seats` resource (index, show, update);
 *   the `POST /licenses/{id}/checkout|checkin` of forks do not exist upstream.
 *   einklang never assigns seats, it only reads how many are out. A missing
 *   permission is 403 `{"message":"This action is unauthorized."}` (the kit's
 *   E_FORBIDDEN; simulator.ts has the evidence); the 429 carries no
 *   Retry-After (kit retry.ts).
 *
 * One change is one write (POST, PATCH or DELETE of one license: Snipe-IT
 * saves a license and its seat rows all or nothing), so a failed change
 * leaves the pool as it was.
 */
import { DriverError, objectKey, type Change, type ChangeWriter, type Driver, type LiveObject, type ReadRequest, type ReadResult, type SessionOptions, type TargetSpec } from '../../../engine/types.js';
import { ApiClient } from '../../kit/client.js';
import { bearerAuth } from '../../kit/auth.js';
import type { Clock } from '../../kit/clock.js';
import { ApiError, statusErrorEnvelope } from '../../kit/errors.js';
import { NaturalKeyIndex, ambiguousLiveError } from '../../kit/natural-key.js';
import { collect, offsetPages } from '../../kit/paging.js';
import { LICENSE, poolKey, type LicenseState } from '../kinds.js';
import { snipeitConnection } from './connection.js';
import { assignedSeats, decodeName, type LicenseRow, type NamedRow } from './wire.js';

/** MAX_RESULTS, Snipe-IT's largest page (config/app.php). */
const PAGE = 500;

/** A License's live state: the managed fields plus what is checked out (read by the seat policies, never compared). */
export function licenseLiveState(row: LicenseRow): Record<string, unknown> {
  return {
    name: decodeName(row.name),
    seats: Number(row.seats),
    category: row.category ? decodeName(row.category.name) : null,
    manufacturer: row.manufacturer ? decodeName(row.manufacturer.name) : null,
    expires: row.expiration_date?.date ?? null,
    assignedSeats: assignedSeats(row),
  };
}

type Want = Partial<LicenseState>;

/** What a manifest names by name and Snipe-IT stores by id. */
type Lookup = 'manufacturer' | 'category';

class SnipeitSession implements ChangeWriter {
  readonly mode = 'change' as const;
  /** Manufacturers and license categories by key, read at most once per session. */
  private named = new Map<Lookup, Promise<Map<string, NamedRow[]>>>();

  private constructor(private readonly http: ApiClient) {}

  static async open(target: TargetSpec, opts: SessionOptions, clock?: Clock): Promise<SnipeitSession> {
    const c = snipeitConnection(target);
    const http = new ApiClient({
      host: c.host,
      port: c.port,
      tlsFingerprint: c.tlsFingerprint,
      basePath: '/api/v1',
      auth: bearerAuth(c.token),
      envelope: statusErrorEnvelope,
      timeoutMs: opts.timeoutMs,
      log: opts.log,
      clock,
      budget: { requests: { count: c.requestsPerMinute, windowMs: 60_000 }, maxTotal: 50_000 },
    });
    try {
      await http.get('/licenses', { query: { limit: 1 } }); // proves pin and token before the engine relies on the session
    } catch (e) {
      http.close();
      throw e;
    }
    return new SnipeitSession(http);
  }

  private licenses(query: Record<string, string> = {}): Promise<LicenseRow[]> {
    return collect(offsetPages<LicenseRow>(this.http, '/licenses', { limit: PAGE, query: { sort: 'id', order: 'asc', ...query } }));
  }

  private index(rows: LicenseRow[]): NaturalKeyIndex<LicenseRow> {
    return new NaturalKeyIndex(rows, { kind: LICENSE, keyOf: (r) => decodeName(r.name), idOf: (r) => String(r.id), normalize: poolKey });
  }

  async read(objects: ReadRequest[]): Promise<ReadResult> {
    for (const o of objects) unsupported(o.kind);
    const index = this.index(await this.licenses());
    const out: ReadResult = { objects: {} };
    const live = new Map<ReadRequest, LicenseRow | undefined>();
    for (const o of objects) {
      const row = index.get(o.id);
      live.set(o, row);
      out.objects[objectKey(o.kind, o.id)] = row ? { kind: LICENSE, id: o.id, state: licenseLiveState(row) } : null;
    }
    await this.checkNames(objects, live);
    out.unmanaged = index.unclaimed().map((r): LiveObject => ({ kind: LICENSE, id: decodeName(r.name), state: licenseLiveState(r) }));
    return out;
  }

  /**
   * A manufacturer or category a manifest names must exist: an error of the
   * plan (naming every missing one), not of the apply. Names the live pool
   * already carries exist by definition and cost no request.
   */
  private async checkNames(objects: ReadRequest[], live: Map<ReadRequest, LicenseRow | undefined>): Promise<void> {
    const problems: string[] = [];
    for (const field of ['manufacturer', 'category'] as const) {
      for (const o of objects) {
        const want = o.state[field];
        if (typeof want !== 'string') continue;
        const row = live.get(o);
        const have = row?.[field] ? decodeName(row[field]!.name) : undefined;
        if (have !== undefined && poolKey(have) === poolKey(want)) continue;
        const found = await this.lookup(field, want).catch((e: Error) => e);
        if (found instanceof Error) problems.push(`pool ${JSON.stringify(o.id)}: ${found.message}`);
      }
    }
    if (problems.length) throw new DriverError(problems.join('; '), { code: 'E_LICENSE_REFERENCE' });
  }

  private rowsOf(kind: Lookup): Promise<Map<string, NamedRow[]>> {
    let p = this.named.get(kind);
    if (!p) {
      const path = kind === 'manufacturer' ? '/manufacturers' : '/categories';
      const query = kind === 'category' ? { category_type: 'license' } : {};
      p = collect(offsetPages<NamedRow>(this.http, path, { limit: PAGE, query: { sort: 'id', order: 'asc', ...query } })).then((rows) => {
        const m = new Map<string, NamedRow[]>();
        for (const r of rows) {
          const k = poolKey(decodeName(r.name));
          m.set(k, [...(m.get(k) ?? []), r]);
        }
        return m;
      });
      this.named.set(kind, p);
    }
    return p;
  }

  /** The id of the manufacturer or license category with this name; a DriverError saying why not. */
  private async lookup(kind: Lookup, name: string): Promise<number> {
    const hits = (await this.rowsOf(kind)).get(poolKey(name)) ?? [];
    if (hits.length === 1) return hits[0].id;
    if (hits.length > 1) throw ambiguousLiveError(kind === 'manufacturer' ? 'Manufacturer' : 'Category', name, hits.map((h) => String(h.id)));
    if (kind === 'manufacturer') {
      throw new DriverError(`manufacturer ${JSON.stringify(name)} does not exist in Snipe-IT; create it there (einklang does not manage manufacturers) or fix the name`, { code: 'E_LICENSE_REFERENCE' });
    }
    const other = await collect(offsetPages<NamedRow & { category_type?: string }>(this.http, '/categories', { limit: PAGE, query: { name } }));
    const hint = other.length ? ` (a category of type ${other.map((c) => JSON.stringify(c.category_type ?? '?')).join(', ')} has this name; licenses need one of type license)` : '';
    throw new DriverError(`license category ${JSON.stringify(name)} does not exist in Snipe-IT${hint}; create it there (einklang does not manage categories) or fix the name`, { code: 'E_LICENSE_REFERENCE' });
  }

  /** The live pool with this name at apply time (several: E_AMBIGUOUS_LIVE). */
  private async find(name: string): Promise<LicenseRow | undefined> {
    // The server's `name` filter compares case-insensitively already; keep only true matches of the decoded names.
    const rows = (await this.licenses({ name })).filter((r) => poolKey(decodeName(r.name)) === poolKey(name));
    if (rows.length > 1) throw ambiguousLiveError(LICENSE, name, rows.map((r) => String(r.id)));
    return rows[0];
  }

  /** Snipe-IT's write fields for the managed fields that differ from `live` (all of them for a create). */
  private async body(want: Want, live?: LicenseRow): Promise<Record<string, unknown>> {
    const have = live ? licenseLiveState(live) : undefined;
    const differs = (f: keyof LicenseState) => want[f] !== undefined && (!have || want[f] !== have[f]);
    const b: Record<string, unknown> = {};
    if (want.name !== undefined && (!have || want.name !== have.name)) b.name = want.name;
    if (differs('seats')) b.seats = want.seats;
    if (differs('expires')) b.expiration_date = want.expires;
    if (differs('manufacturer')) b.manufacturer_id = await this.lookup('manufacturer', want.manufacturer!);
    if (differs('category') || (!live && want.category === undefined)) {
      if (want.category === undefined) throw new DriverError('Snipe-IT needs a category to create a license: set spec.category', { code: 'E_LICENSE_REFERENCE' });
      b.category_id = await this.lookup('category', want.category);
    }
    return b;
  }

  async applyChange(change: Change): Promise<void> {
    unsupported(change.kind);
    const pool = JSON.stringify(change.id);
    const action = change.actions.join(',');
    const want = (change.after ?? {}) as Want;
    if (action === 'create') {
      await this.write(`creating pool ${pool}`, () => this.body(want).then((b) => this.http.post('/licenses', b)));
      return;
    }
    const live = await this.find(change.id);
    if (action === 'delete') {
      if (!live) return; // already gone
      const used = assignedSeats(live);
      if (used > 0) throw new DriverError(`pool ${pool} still has ${used} seat(s) checked out; Snipe-IT deletes a license only when every seat is checked in`, { code: 'E_LICENSE_IN_USE' });
      await this.write(`deleting pool ${pool}`, () => this.http.delete(`/licenses/${live.id}`));
      return;
    }
    if (action !== 'update') throw new DriverError(`the snipeit driver cannot ${action} a License`, { code: 'E_UNSUPPORTED' });
    if (!live) throw new DriverError(`pool ${pool} no longer exists on the server: re-plan`, { code: 'E_STALE' });
    const used = assignedSeats(live);
    const lowersBelowUse = typeof want.seats === 'number' && want.seats < used;
    if (lowersBelowUse) throw seatsInUse(pool, want.seats!, used);
    const b = await this.body(want, live);
    if (!Object.keys(b).length) return;
    await this.write(`updating pool ${pool}`, () => this.http.patch(`/licenses/${live.id}`, b), () =>
      // the server's only answer to a refused seat reduction is an empty error (module comment)
      typeof b.seats === 'number' && b.seats < Number(live.seats) ? ` (Snipe-IT refuses to lower seats to ${b.seats} when fewer than ${Number(live.seats) - (b.seats as number)} seats are free; check seats in first)` : '',
    );
  }

  /** Runs one write; an error inside HTTP 200 becomes a message naming the pool and what Snipe-IT said. */
  private async write(what: string, fn: () => Promise<unknown>, explain: () => string = () => ''): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 'E_API_ERROR') throw e;
      throw new DriverError(`${what}: ${e.message}${explain()}`, { code: 'E_API_ERROR' });
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

function unsupported(kind: string): void {
  if (kind !== LICENSE) throw new DriverError(`the snipeit driver manages License objects, not ${kind}`, { code: 'E_UNSUPPORTED' });
}

function seatsInUse(pool: string, seats: number, used: number): DriverError {
  return new DriverError(`pool ${pool}: cannot lower seats to ${seats}: ${used} seat(s) are checked out, and Snipe-IT refuses to remove checked-out seats; check seats in first or keep at least ${used}`, {
    code: 'E_LICENSE_SEATS_ASSIGNED',
  });
}

/** The snipeit driver; `clock` drives backoff and budget waits (tests pass a VirtualClock). */
export function snipeitDriverWith(o: { clock?: Clock } = {}): Driver {
  const open = (t: TargetSpec, opts: SessionOptions = {}) => SnipeitSession.open(t, opts, o.clock);
  return { name: 'snipeit', connectReader: open, connectWriter: open };
}

export const snipeitDriver: Driver = snipeitDriverWith();
