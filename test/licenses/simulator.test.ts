/**
 * The Snipe-IT simulator against the real API's documented answers
 * (/work/shared/corpus/snipeit/) and the quirks of Snipe-IT 8.1.4 a client
 * must survive: errors inside HTTP 200, a silent refusal to shrink seats,
 * HTML-escaped names, paging clamps, the front door (302 / 401 / 429).
 * Requests go over the kit's pinned transport, raw, so every status and
 * header is visible.
 */
import assert from 'node:assert/strict';
import { HttpsTransport, type RawResponse } from '../../providers/kit/transport.js';
import { httpStatusError, statusErrorEnvelope } from '../../providers/kit/errors.js';
import { licenseLiveState } from '../../providers/licenses/snipeit/driver.js';
import type { RunningSnipeitSim } from '../../providers/licenses/snipeit/simulator.js';
import { corpusJson, corpusJsonFiles } from '../support/shared.js';
import { TOKEN, startSim } from './helpers.js';

interface Answer extends RawResponse {
  json: any;
}

function client(sim: RunningSnipeitSim) {
  const t = new HttpsTransport({ host: '127.0.0.1', port: sim.sim.port, tlsFingerprint: sim.sim.fingerprint, timeoutMs: 5000, maxResponseBytes: 1 << 24, maxSockets: 2 });
  const send = async (method: string, path: string, o: { json?: unknown; form?: Record<string, string>; raw?: string; headers?: Record<string, string>; token?: string | null } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { accept: 'application/json', ...(o.token === null ? {} : { authorization: `Bearer ${o.token ?? TOKEN}` }), ...o.headers };
    let body: Buffer | undefined;
    if (o.json !== undefined) (body = Buffer.from(JSON.stringify(o.json))), (headers['content-type'] = 'application/json');
    if (o.form) (body = Buffer.from(new URLSearchParams(o.form).toString())), (headers['content-type'] = 'application/x-www-form-urlencoded');
    if (o.raw !== undefined) (body = Buffer.from(o.raw)), (headers['content-type'] = 'application/json');
    const r = await t.send({ method, path, headers, body });
    let json: unknown;
    try {
      json = JSON.parse(r.body.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { ...r, json };
  };
  return { send, close: () => t.close() };
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Every key the documented answer has, the simulator's answer has too, with a
 * value of the same JSON type (null on either side matches anything: the
 * documentation's demo data and ours differ in what happens to be set).
 */
function assertShape(doc: unknown, sim: unknown, path = '$'): void {
  if (doc === null || sim === null) return;
  assert.equal(typeOf(sim), typeOf(doc), `${path}: the simulator answers a ${typeOf(sim)} where Snipe-IT documents a ${typeOf(doc)}`);
  if (Array.isArray(doc)) {
    if (doc.length && (sim as unknown[]).length) for (const d of doc) assertShape(d, (sim as unknown[])[0], `${path}[]`);
    return;
  }
  if (typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      assert.ok(k in (sim as Record<string, unknown>), `${path}.${k}: documented by Snipe-IT, missing in the simulator's answer`);
      assertShape(v, (sim as Record<string, unknown>)[k], `${path}.${k}`);
    }
  }
}

describe('Snipe-IT simulator', function () {
  this.timeout(20_000);
  let sim: RunningSnipeitSim;
  let http: ReturnType<typeof client>;
  let clock = 1_700_000_000_000;
  beforeEach(async () => {
    sim = await startSim({ now: () => clock, perMinute: 10_000 });
    http = client(sim);
  });
  afterEach(async () => {
    http.close();
    await sim.stop();
  });

  /** A license with `seats` seats, made through the API; returns its id. */
  async function create(name: string, seats = 3, extra: Record<string, unknown> = {}): Promise<number> {
    const r = await http.send('POST', '/api/v1/licenses', { json: { name, seats, category_id: 1, manufacturer_id: 1, ...extra } });
    assert.equal(r.json.status, 'success', JSON.stringify(r.json));
    return r.json.payload.id;
  }

  describe('answers like the documented examples (corpus)', () => {
    it('lists, shows, creates and deletes licenses in the documented shapes', async () => {
      const id = await create('Photoshop', 10, { expiration_date: '2027-07-31', serial: 'ABC-123' });
      await create('Acrobat', 10);
      const list = await http.send('GET', '/api/v1/licenses');
      assert.equal(list.status, 200);
      for (const f of ['licenses_list.json', 'hardware_licenses.json', 'user_licenses.json']) assertShape(corpusJson('snipeit', f).response.body, list.json);
      const one = await http.send('GET', `/api/v1/licenses/${id}`);
      assertShape(corpusJson('snipeit', 'license_get.json').response.body, one.json);
      // the reference documents a form-encoded create: the raw model echoes seats as the string it was sent
      const created = await http.send('POST', '/api/v1/licenses', { form: { name: 'TEST License', seats: '25', category_id: '1' } });
      assertShape(corpusJson('snipeit', 'license_create.json').response.body, created.json);
      const del = await http.send('DELETE', `/api/v1/licenses/${created.json.payload.id}`);
      assertShape(corpusJson('snipeit', 'license_delete.json').response.body, del.json);
      assert.equal(del.json.messages, corpusJson('snipeit', 'license_delete.json').response.body.messages);
    });

    it('lists, shows and checks out seats in the documented shapes', async () => {
      const id = await create('Photoshop', 3);
      const seats = await http.send('GET', `/api/v1/licenses/${id}/seats`);
      assertShape(corpusJson('snipeit', 'license_seats_list.json').response.body, seats.json);
      const seatId = seats.json.rows[0].id;
      const out = await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seatId}`, { form: { assigned_to: '1' } });
      assertShape(corpusJson('snipeit', 'license_seat_checkout_patch.json').response.body, out.json);
      const seat = await http.send('GET', `/api/v1/licenses/${id}/seats/${seatId}`);
      assertShape(corpusJson('snipeit', 'license_seat_get.json').response.body, seat.json);
      assert.equal(seat.json.assigned_user.name, 'Admin User');
    });

    it('reports errors as documented: inside HTTP 200 for validation and not-found, real statuses for the front door', async () => {
      const invalid = await http.send('POST', '/api/v1/licenses', { json: { name: 'ab', seats: 0 } });
      assert.equal(invalid.status, 200, 'a validation error is HTTP 200');
      // field -> list of messages; which fields depends on the object
      const documented = corpusJson('snipeit', 'hardware_create_validation_error.json').response.body;
      assertShape({ ...documented, messages: {} }, invalid.json);
      for (const m of [...Object.values(documented.messages), ...Object.values(invalid.json.messages)]) assertShape(['text'], m);
      assert.deepEqual(invalid.json.messages, {
        name: ['The name field must be at least 3 characters.'],
        seats: ['The seats field must be at least 1.'],
        category_id: ['The category id field is required.'],
      });
      const missing = await http.send('GET', '/api/v1/licenses/999');
      assert.equal(missing.status, 200);
      assertShape(corpusJson('snipeit', 'hardware_get_not_found.json').response.body, missing.json);
      assert.equal(missing.json.messages, 'License not found');
      const wrongMethod = await http.send('POST', '/api/v1/licenses/1/seats');
      assert.equal(wrongMethod.status, 405);
      assertShape(corpusJson('snipeit', 'hardware_list_405.json').response.body, wrongMethod.json);
      const nowhere = await http.send('GET', '/api/v1/nothing');
      assert.deepEqual([nowhere.status, nowhere.json.messages], [404, '404 endpoint not found']);
    });

    it("every documented error body is an error to the kit (E_AUTH for a 401, the envelope check inside HTTP 200), with the server's words", () => {
      for (const f of corpusJsonFiles('snipeit')) {
        const { request, response } = corpusJson('snipeit', f);
        if (response.status === 401) {
          const e = httpStatusError(401, { method: request.method, path: request.path, body: response.body });
          assert.equal(e.code, 'E_AUTH', f);
          assert.match(e.message, /Unauthorized|Unauthenticated/i, `${f}: ${e.message}`);
        } else if (response.body?.status === 'error') {
          assert.ok(statusErrorEnvelope(response.body), `${f} is an error inside HTTP ${response.status}`);
        } else {
          assert.equal(statusErrorEnvelope(response.body), undefined, `${f} is a success`);
        }
      }
    });

    it("the driver reads every documented license row: names decoded, dates from their objects, seats in use from free_seats_count", () => {
      const rows = ['licenses_list.json', 'hardware_licenses.json', 'user_licenses.json'].flatMap((f) => corpusJson('snipeit', f).response.body.rows);
      rows.push(corpusJson('snipeit', 'license_get.json').response.body);
      const states = rows.map(licenseLiveState);
      assert.deepEqual(states[0], { name: 'Photoshop', seats: 10, category: null, manufacturer: 'Adobe', expires: null, assignedSeats: 0 });
      assert.deepEqual(states[4], { name: 'Acrobat', seats: 10, category: 'Graphics Software', manufacturer: 'Adobe', expires: '2021-03-23', assignedSeats: 10 });
      for (const s of states) {
        assert.equal(typeof s.name, 'string');
        assert.ok(Number.isInteger(s.seats) && Number.isInteger(s.assignedSeats));
        assert.ok(s.expires === null || /^\d{4}-\d{2}-\d{2}$/.test(String(s.expires)));
      }
      assert.equal(states.at(-1)!.assignedSeats, 10, 'license_get.json: 10 seats, none free');
    });
  });

  describe('quirks', () => {
    it('front door: without Accept JSON and token a redirect to /login, with Accept JSON a 401 outside the envelope', async () => {
      const html = await http.send('GET', '/api/v1/licenses', { token: null, headers: { accept: 'text/html' } });
      assert.deepEqual([html.status, html.headers.location], [302, '/login']);
      const denied = await http.send('GET', '/api/v1/licenses', { token: 'wrong' });
      assert.deepEqual([denied.status, denied.json], [401, { error: 'Unauthorized or unauthenticated.' }]);
      const bad = await http.send('POST', '/api/v1/licenses', { raw: '{"name": "x",' });
      assert.deepEqual([bad.status, bad.json.messages], [422, 'Invalid JSON']);
    });

    it('seat rows follow seats: created, added, removed only while free; a refused reduction is an error with no message and changes nothing', async () => {
      const id = await create('Office Pool', 3);
      assert.equal((await http.send('GET', `/api/v1/licenses/${id}/seats`)).json.total, 3);
      const raised = await http.send('PATCH', `/api/v1/licenses/${id}`, { json: { seats: 5 } });
      assert.equal(raised.json.status, 'success');
      const seats = (await http.send('GET', `/api/v1/licenses/${id}/seats`)).json.rows;
      assert.equal(seats.length, 5);
      const assetId = sim.model.addAsset('PC-001');
      await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seats[0].id}`, { json: { assigned_to: 1 } });
      await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seats[1].id}`, { json: { asset_id: assetId } });
      const row = (await http.send('GET', `/api/v1/licenses/${id}`)).json;
      assert.deepEqual([row.seats, row.free_seats_count, row.remaining], [5, 3, 3]);
      const before = sim.model.snapshot();
      const refused = await http.send('PATCH', `/api/v1/licenses/${id}`, { json: { seats: 1, name: 'Renamed Pool' } });
      assert.deepEqual([refused.status, refused.json], [200, { status: 'error', messages: [], payload: null }]);
      assert.deepEqual(sim.model.snapshot(), before, 'nothing saved, not even the name');
      assert.equal((await http.send('PATCH', `/api/v1/licenses/${id}`, { json: { seats: 2 } })).json.status, 'success', 'down to the seats in use is fine');
      assert.equal((await http.send('GET', `/api/v1/licenses/${id}/seats`)).json.total, 2);
      const inUse = await http.send('DELETE', `/api/v1/licenses/${id}`);
      assert.equal(inUse.json.status, 'error');
      assert.match(inUse.json.messages, /checked out to a user and cannot be deleted/);
      for (const s of [seats[0], seats[1]]) {
        const back = await http.send('PATCH', `/api/v1/licenses/${id}/seats/${s.id}`, { json: { assigned_to: null, asset_id: null } });
        assert.equal(back.json.status, 'success');
      }
      assert.equal((await http.send('DELETE', `/api/v1/licenses/${id}`)).json.status, 'success');
      assert.equal((await http.send('GET', '/api/v1/licenses')).json.total, 0);
      const trashed = (await http.send('GET', '/api/v1/licenses?deleted=true')).json;
      assert.equal(trashed.rows[0].name, 'Office Pool', 'a soft delete');
      assert.equal((await http.send('GET', `/api/v1/licenses/${id}`)).json.messages, 'License not found');
    });

    it('seat checkout: an unknown user is "Target not found", an occupied seat is silently reassigned (8.1.4), no change is a no-op success', async () => {
      const id = await create('Seat Pool', 1);
      const seat = (await http.send('GET', `/api/v1/licenses/${id}/seats`)).json.rows[0];
      const other = sim.model.addUser('Erika Muster', 'erika@lab.invalid');
      assert.equal((await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seat.id}`, { json: { assigned_to: 999 } })).json.messages, 'Target not found');
      assert.equal((await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seat.id}`, { json: { assigned_to: 1 } })).json.status, 'success');
      assert.equal((await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seat.id}`, { json: { assigned_to: other } })).json.status, 'success');
      assert.equal((await http.send('PATCH', `/api/v1/licenses/${id}/seats/${seat.id}`, { json: { notes: 'x' } })).json.status, 'success');
      assert.equal(sim.model.seats.get(seat.id)!.assigned_to, other);
      assert.equal((await http.send('GET', `/api/v1/licenses/${id + 1}/seats/${seat.id}`)).json.messages, 'Seat does not belong to the specified license');
    });

    it('names read back HTML-escaped as Laravel e() writes them; the name filter compares case-insensitively', async () => {
      await create(`Tom & Jerry's "Office" <Pro>`, 1);
      const rows = (await http.send('GET', `/api/v1/licenses?name=${encodeURIComponent(`tom & jerry's "office" <pro>`)}`)).json.rows;
      assert.equal(rows.length, 1);
      assert.equal(rows[0].name, 'Tom &amp; Jerry&#039;s &quot;Office&quot; &lt;Pro&gt;');
      assert.equal(licenseLiveState(rows[0]).name, `Tom & Jerry's "Office" <Pro>`);
    });

    it('paging: limit is abs(intval) clamped to MAX_RESULTS, an offset past the end is an empty page, a seat offset past the end restarts at 0', async () => {
      await sim.stop();
      sim = await startSim({ now: () => clock, maxResults: 3, perMinute: 10_000 });
      http.close();
      http = client(sim);
      for (let i = 1; i <= 5; i++) {
        clock += 1000;
        await create(`Pool ${i}`, 4);
      }
      const page = async (q: string) => (await http.send('GET', `/api/v1/licenses?${q}`)).json;
      assert.deepEqual((await page('limit=100')).rows.map((r: { name: string }) => r.name), ['Pool 5', 'Pool 4', 'Pool 3'], 'clamped to 3, newest first by default');
      assert.equal((await page('limit=-2&sort=id&order=asc')).rows.length, 2);
      assert.deepEqual((await page('limit=2&offset=4&sort=id&order=asc')).rows.map((r: { name: string }) => r.name), ['Pool 5']);
      const past = await page('offset=9');
      assert.deepEqual([past.total, past.rows.length], [5, 0]);
      const seats = (await http.send('GET', '/api/v1/licenses/1/seats?offset=4&limit=2')).json;
      assert.deepEqual([seats.total, seats.rows.length], [4, 2], 'offset >= total: back to the first page');
    });

    it('categories read their type as a label and filter by the raw type; manufacturers by name', async () => {
      const lic = (await http.send('GET', '/api/v1/categories?category_type=license')).json;
      assert.deepEqual(lic.rows.map((c: { name: string; category_type: string }) => [c.name, c.category_type]).sort(), [['Graphics', 'License'], ['Office', 'License']]);
      assert.equal((await http.send('GET', '/api/v1/categories?name=Laptops')).json.rows[0].category_type, 'Asset');
      assert.equal((await http.send('GET', '/api/v1/manufacturers?name=Adobe')).json.total, 1);
    });

    it('an unknown manufacturer_id is stored unchecked and reads back as null; an unknown category_id is refused', async () => {
      const id = await create('Loose Pool', 1, { manufacturer_id: 77 });
      assert.equal((await http.send('GET', `/api/v1/licenses/${id}`)).json.manufacturer, null);
      const r = await http.send('POST', '/api/v1/licenses', { json: { name: 'No Category', seats: 1, category_id: 77 } });
      assert.deepEqual(r.json.messages, { category_id: ['The selected category id is invalid.'] });
    });

    it('throttles at 120 requests per minute and user with a 429 in the envelope, without Retry-After', async () => {
      await sim.stop();
      sim = await startSim({ now: () => clock });
      http.close();
      http = client(sim);
      for (let i = 0; i < 120; i++) assert.equal((await http.send('GET', '/api/v1/licenses?limit=1')).status, 200);
      const r = await http.send('GET', '/api/v1/licenses?limit=1');
      assert.deepEqual([r.status, r.json, r.headers['retry-after']], [429, { status: 'error', messages: 'Too many requests', payload: null }, undefined]);
      clock += 60_000;
      assert.equal((await http.send('GET', '/api/v1/licenses?limit=1')).status, 200, 'a new window');
    });
  });
});
