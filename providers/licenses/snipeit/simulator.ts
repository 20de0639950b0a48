/**
 * A Snipe-IT (v8.1.4) REST API simulator for the lab and the tests, on the
 * kit's HTTPS simulator (loopback, the target's deterministic lab
 * certificate). The model and its rules are in sim-model.ts; this file is
 * the HTTP side, with the quirks a client has to survive:
 *
 *   GET    /api/v1/licenses                 {total, rows}; filters name (case-insensitive, as MySQL
 *                                           compares), search, category_id, manufacturer_id, deleted=true;
 *                                           sort/order (default created_at desc)
 *   GET    /api/v1/licenses/:id             the license (unwrapped) or 200 {"status":"error","messages":"License not found"}
 *   POST   /api/v1/licenses                 200 success with the raw model, or validation errors inside HTTP 200
 *   PUT|PATCH /api/v1/licenses/:id          fill + save; a refused seat reduction is 200 {"status":"error","messages":[]}
 *   DELETE /api/v1/licenses/:id             refused inside HTTP 200 while a seat is checked out
 *   GET    /api/v1/licenses/:id/seats       seat rows by updated_at desc; an offset >= total restarts at 0
 *   GET|PUT|PATCH /api/v1/licenses/:id/seats/:seatId   seat checkout / checkin
 *   GET    /api/v1/manufacturers, /api/v1/categories   {total, rows}; filters name, search (categories: category_type)
 *
 * Paging (SettingsServiceProvider api_limit_value / api_offset_value, the
 * controllers' offset clamp): `limit` is abs(intval), 1..MAX_RESULTS (500)
 * else 500; an offset past the total becomes the total (empty page).
 *
 * Front door (routes/api.php, app/Exceptions/Handler.php, RouteServiceProvider):
 * a request without `Accept: application/json` and without a valid token is
 * redirected to /login (302, HTML); a bad or missing token is 401
 * `{"error":"Unauthorized or unauthenticated."}` outside the envelope; 120
 * requests per minute and user, then 429 with the envelope and no
 * Retry-After; malformed JSON 422 "Invalid JSON"; unknown paths 404
 * "404 endpoint not found", wrong methods 405 "Method not allowed".
 * A user without the license permission (`readOnlyToken`) gets 403
 * `{"message":"This action is unauthorized."}` for writes: the research sheet
 * marks that text UNVERIFIED; Snipe-IT's Handler::render hands an
 * AuthorizationException to Laravel's parent handler, which answers JSON
 * requests with the exception's default message (asserted the same way by
 * Laravel applications' feature tests, e.g. `assertJsonPath('message',
 * 'This action is unauthorized.')`).
 */
import { FixedWindowLimiter } from '../../kit/sim/rate-limit.js';
import { Router } from '../../kit/sim/router.js';
import { startHttpsSim, type RunningHttpsSim } from '../../kit/sim/https-sim.js';
import { HttpError, jsonResponse, type SimRequest, type SimResponse } from '../../kit/sim/types.js';
import { SnipeitModel, type SimLicense } from './sim-model.js';

export interface SnipeitSimOptions {
  /** The personal access token the server accepts (a user who may do everything with licenses). */
  token: string;
  /** A token of a user who may view licenses but not create, edit or delete them. */
  readOnlyToken?: string;
  /** Seed of the lab certificate: the LicenseServer's address. */
  certSeed: string;
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  /** API_THROTTLE_PER_MINUTE (default 120). */
  perMinute?: number;
  /** MAX_RESULTS (default 500): the largest page. */
  maxResults?: number;
  /** Time for timestamps and the rate limiter (default real time). */
  now?: () => number;
}

export interface RunningSnipeitSim {
  sim: RunningHttpsSim;
  model: SnipeitModel;
  limiter: FixedWindowLimiter;
  /** Makes the n-th write request from now (1 = the next) fail inside HTTP 200, changing nothing. */
  failNthWrite(n: number): void;
  stop(): Promise<void>;
}

const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** The common name of every simulated Snipe-IT's certificate (the seed, the target address, makes each one unique). */
export const SNIPEIT_LAB_CN = 'snipeit.lab.invalid';

/** Helper::formatStandardApiResponse. */
export function envelope(status: 'success' | 'error', payload: unknown, messages: unknown): SimResponse {
  return jsonResponse(200, { status, messages, payload: payload ?? null });
}

const notFound = (what: string) => envelope('error', null, `${what} not found`);

/** PHP's intval for a query value. */
function intval(v: string | null): number {
  const m = /^\s*[+-]?\d+/.exec(v ?? '');
  return m ? Number(m[0]) : 0;
}

function byKey<T>(rows: T[], key: (r: T) => string | number, order: 'asc' | 'desc'): T[] {
  const dir = order === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
}

/** MySQL utf8mb4_unicode_ci equality, as far as names go: case-insensitive, trailing spaces ignored. */
const ciEqual = (a: string, b: string) => a.replace(/ +$/, '').toLowerCase() === b.replace(/ +$/, '').toLowerCase();

/** The request body as Laravel's $request->all() sees it: JSON object, or form fields. */
function input(req: SimRequest): Record<string, unknown> {
  const type = String(req.headers['content-type'] ?? '');
  if (!req.body.length) return {};
  if (/json/i.test(type)) {
    let v: unknown;
    try {
      v = JSON.parse(req.body.toString('utf8'));
    } catch {
      throw new HttpError(422, { status: 'error', messages: 'Invalid JSON', payload: null });
    }
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  }
  return Object.fromEntries(req.form());
}

export async function startSnipeitSimulator(o: SnipeitSimOptions): Promise<RunningSnipeitSim> {
  const now = o.now ?? Date.now;
  const model = new SnipeitModel(now);
  const limiter = new FixedWindowLimiter({ limit: o.perMinute ?? 120, windowMs: 60_000, now });
  const maxResults = o.maxResults ?? 500;

  /** One page of `rows` as the controllers cut it. */
  function page<T>(req: SimRequest, rows: T[], render: (r: T, i: number) => unknown, o2: { offsetPastEndRestarts?: boolean } = {}): SimResponse {
    const total = rows.length;
    const asked = Math.abs(intval(req.query.get('limit')));
    const limit = asked > 0 && asked <= maxResults ? asked : maxResults;
    let offset = intval(req.query.get('offset')) > total ? total : intval(req.query.get('offset'));
    if (o2.offsetPastEndRestarts && offset >= total) offset = 0;
    offset = Math.max(0, offset);
    return jsonResponse(200, { total, rows: rows.slice(offset, offset + limit).map((r, i) => render(r, offset + i)) });
  }

  const license = (req: SimRequest): SimLicense | undefined => {
    const l = model.licenses.get(intval(req.params.id));
    return l && !l.deleted_at ? l : undefined;
  };

  function listLicenses(req: SimRequest): SimResponse {
    const q = req.query;
    let rows = [...model.licenses.values()].filter((l) => (q.get('deleted') === 'true' ? l.deleted_at !== null : l.deleted_at === null));
    const name = q.get('name');
    if (name) rows = rows.filter((l) => ciEqual(l.name, name));
    const search = q.get('search')?.toLowerCase();
    if (search) rows = rows.filter((l) => l.name.toLowerCase().includes(search) || (l.serial ?? '').toLowerCase().includes(search) || (l.notes ?? '').toLowerCase().includes(search));
    for (const f of ['category_id', 'manufacturer_id'] as const) {
      if (q.get(f)) rows = rows.filter((l) => String(l[f]) === q.get(f));
    }
    const order = q.get('order') === 'asc' ? 'asc' : 'desc';
    const sortable: Record<string, (l: SimLicense) => string | number> = {
      id: (l) => l.id,
      name: (l) => l.name,
      seats: (l) => l.seats,
      expiration_date: (l) => l.expiration_date ?? '',
      free_seats_count: (l) => model.freeSeats(l.id),
    };
    // created_at has one-second resolution: rows made in the same second keep their insertion order, as MySQL's does
    rows = byKey(rows, sortable[q.get('sort') ?? ''] ?? ((l) => l.created_at), order);
    return page(req, rows, (l) => model.licenseRow(l));
  }

  function named<T extends { id: number; name: string }>(req: SimRequest, all: T[], render: (r: T) => unknown, extra: (r: T) => boolean = () => true): SimResponse {
    const name = req.query.get('name');
    const search = req.query.get('search')?.toLowerCase();
    const rows = all.filter((r) => extra(r) && (!name || r.name === name) && (!search || r.name.toLowerCase().includes(search)));
    const order = req.query.get('order') === 'asc' ? 'asc' : 'desc';
    return page(req, byKey(rows, req.query.get('sort') === 'name' ? (r) => r.name : (r) => r.id, order), render);
  }

  const saved = (outcome: ReturnType<SnipeitModel['createLicense']>, message: string): SimResponse =>
    outcome.ok ? envelope('success', outcome.echo, message) : envelope('error', null, outcome.messages);

  const seatRoute = (req: SimRequest) => {
    const seat = model.seats.get(intval(req.params.seatId));
    if (!seat || seat.deleted_at) return { error: envelope('error', null, 'Seat not found') };
    const l = model.licenses.get(seat.license_id);
    if (!l || l.id !== intval(req.params.id)) return { error: envelope('error', null, 'Seat does not belong to the specified license') };
    return { seat, license: l };
  };

  const updateSeat = (req: SimRequest) => {
    const r = seatRoute(req);
    if ('error' in r) return r.error!;
    const out = model.updateSeat(r.seat, input(req));
    return out.ok ? envelope('success', out.echo, 'License updated successfully.') : envelope('error', null, out.message);
  };

  const updateLicense = (req: SimRequest) => {
    const l = license(req);
    if (!l) return notFound('License');
    return saved(model.updateLicense(l, input(req)), 'License updated successfully.');
  };

  const router = new Router()
    .get('/api/v1/licenses', listLicenses)
    .post('/api/v1/licenses', (req) => saved(model.createLicense(input(req)), 'License created successfully.'))
    .get('/api/v1/licenses/:id', (req) => {
      const l = license(req);
      return l ? jsonResponse(200, model.licenseRow(l)) : notFound('License');
    })
    .put('/api/v1/licenses/:id', updateLicense)
    .patch('/api/v1/licenses/:id', updateLicense)
    .delete('/api/v1/licenses/:id', (req) => {
      const l = license(req);
      if (!l) return notFound('License');
      const out = model.deleteLicense(l);
      return out.ok ? envelope('success', null, 'The license was deleted successfully.') : envelope('error', null, out.message);
    })
    .get('/api/v1/licenses/:id/seats', (req) => {
      const l = license(req);
      if (!l) return envelope('error', null, 'License does not exist or you do not have permission to view it.');
      const seats = model.seatsOf(l.id);
      const number = new Map(seats.map((s, i) => [s.id, i + 1]));
      const order = req.query.get('order') === 'asc' ? 'asc' : 'desc';
      const rows = byKey(seats, (s) => `${s.updated_at}\u0000${String(s.id).padStart(12, '0')}`, order);
      return page(req, rows, (s) => model.seatRow(s, number.get(s.id)!), { offsetPastEndRestarts: true });
    })
    .get('/api/v1/licenses/:id/seats/:seatId', (req) => {
      const r = seatRoute(req);
      return 'error' in r ? r.error! : jsonResponse(200, model.seatRow(r.seat, model.seatsOf(r.license.id).indexOf(r.seat) + 1));
    })
    .put('/api/v1/licenses/:id/seats/:seatId', updateSeat)
    .patch('/api/v1/licenses/:id/seats/:seatId', updateSeat)
    .get('/api/v1/manufacturers', (req) => named(req, [...model.manufacturers.values()], (m) => model.manufacturerRow(m)))
    .get('/api/v1/categories', (req) => {
      const type = req.query.get('category_type');
      return named(req, [...model.categories.values()], (c) => model.categoryRow(c), (c) => !type || c.category_type === type);
    });

  const sim = await startHttpsSim({
    certSeed: o.certSeed,
    commonName: SNIPEIT_LAB_CN,
    port: o.port,
    router,
    gate: (req) => {
      const wantsJson = /json/i.test(String(req.headers.accept ?? '')) || req.headers['x-requested-with'] === 'XMLHttpRequest';
      const token = req.auth?.scheme === 'bearer' ? req.auth.token : undefined;
      const authed = token !== undefined && (token === o.token || token === o.readOnlyToken);
      if (!authed) {
        if (!wantsJson) return { status: 302, text: '<!DOCTYPE html><html><body>Redirecting to /login</body></html>', headers: { location: '/login', 'content-type': 'text/html; charset=UTF-8' } };
        return jsonResponse(401, { error: 'Unauthorized or unauthenticated.' });
      }
      const v = limiter.hit(token); // per user: one token is one user here
      if (!v.allowed) return jsonResponse(429, { status: 'error', messages: 'Too many requests', payload: null });
      // $this->authorize() in the controllers: Laravel's default 403 body (the Handler passes AuthorizationException through)
      if (token === o.readOnlyToken && req.method !== 'GET') return jsonResponse(403, { message: 'This action is unauthorized.' });
      return undefined;
    },
    notFound: () => jsonResponse(404, { status: 'error', messages: '404 endpoint not found', payload: null }),
    methodNotAllowed: () => jsonResponse(405, { status: 'error', messages: 'Method not allowed', payload: null }),
  });
  return {
    sim,
    model,
    limiter,
    failNthWrite: (n) =>
      sim.faults.add({ kind: 'status', status: 200, body: { status: 'error', messages: 'injected failure: the server refused this write', payload: null } }, { match: { method: WRITE_METHODS }, skip: n - 1 }),
    stop: () => sim.stop(),
  };
}
