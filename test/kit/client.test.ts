/**
 * The kit's HTTPS client against a simulated API (test-api.ts on the kit's
 * simulator base): pinning before any request, keep-alive, 429/503 with and
 * without Retry-After, slow responses, truncated bodies, dropped connections,
 * hostile sizes, errors inside HTTP 200, error mapping and secrets.
 * Backoff and budget waits run on a VirtualClock: no real sleeps.
 */
import assert from 'node:assert/strict';
import { apiKeyAuth, basicAuth, bearerAuth, sessionAuth } from '../../providers/kit/auth.js';
import type { ApiClient } from '../../providers/kit/client.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { statusErrorEnvelope } from '../../providers/kit/errors.js';
import { freePort } from '../support/sshd.js';
import { isCode } from './is-code.js';
import { API_KEY, BASIC_PASSWORD, BASIC_USER, useTestApi, type TestApi } from './test-api.js';

describe('kit: HTTPS client', function () {
  this.timeout(10_000);
  const t = useTestApi();
  const client = t.client;
  let api: TestApi;
  let clock: VirtualClock;
  beforeEach(() => {
    api = t.api;
    clock = t.clock;
  });

  describe('certificate pinning', () => {
    it('talks to the server whose certificate matches, in every fingerprint notation', async () => {
      const hex = api.sim.fingerprint.replace(/:/g, '');
      for (const pin of [api.sim.fingerprint, hex.toLowerCase(), `sha256:${hex}`, `SHA256:${hex.toLowerCase()}`]) {
        assert.deepEqual(await client({ tlsFingerprint: pin }).get('/api/echo'), { ok: true, scheme: 'basic' });
      }
    });

    it('refuses a wrong certificate after the handshake: the server receives no request', async () => {
      const before = api.sim.counters.connections;
      const wrong = 'AB:'.repeat(31) + 'AB';
      await assert.rejects(
        client({ tlsFingerprint: wrong }).get('/api/echo'),
        isCode('E_TLS_FINGERPRINT', new RegExp(`expected ${wrong}, the server presented ${api.sim.fingerprint}.*Nothing was sent`)),
      );
      assert.deepEqual(api.sim.log, [], 'no HTTP request (so no Authorization header) reached the server');
      assert.ok(api.sim.counters.connections > before, 'the client did connect: the check is on the presented certificate');
    });

    it('never retries a pin mismatch, not even for a GET', async () => {
      const c = client({ tlsFingerprint: '00'.repeat(32) });
      await assert.rejects(c.get('/api/echo'), isCode('E_TLS_FINGERPRINT'));
      assert.equal(c.counters().retries, 0);
    });

    it('rejects a malformed pin before connecting', () => {
      assert.throws(() => client({ tlsFingerprint: 'AB:CD' }), isCode('E_TLS_FINGERPRINT', /64 hex digits/));
    });

    it('without a pin the system CAs decide: the self-signed lab certificate is refused, nothing sent', async () => {
      await assert.rejects(client({ tlsFingerprint: undefined }).get('/api/echo'), isCode('E_TLS', /not trusted/));
      assert.deepEqual(api.sim.log, []);
    });
  });

  it('keeps one connection alive across requests', async () => {
    const c = client();
    const handshakes = api.sim.counters.tlsHandshakes;
    for (let i = 0; i < 10; i++) await c.get('/api/echo');
    assert.equal(c.counters().connections, 1);
    assert.equal(api.sim.counters.tlsHandshakes - handshakes, 1);
    assert.equal(c.counters().requests, 10);
  });

  it('closes connections left unused for idleTimeoutMs (before the server would), and reconnects', async () => {
    const c = client({ idleTimeoutMs: 10 });
    await c.get('/api/echo');
    await c.get('/api/echo');
    assert.equal(c.counters().connections, 1);
    await new Promise((r) => setTimeout(r, 40));
    await c.get('/api/echo');
    assert.equal(c.counters().connections, 2);
    api.sim.faults.add({ kind: 'latency', ms: 60 });
    assert.equal((await c.get('/api/echo')).ok, true, 'a request in progress is not cut by the idle timeout');
    assert.equal(c.counters().retries, 0);
  });

  it('opens at most maxSockets connections for a burst of concurrent requests', async () => {
    const handshakes = api.sim.counters.tlsHandshakes;
    const c = client({ maxSockets: 3 });
    const answers = await Promise.all(Array.from({ length: 40 }, () => c.get('/api/echo')));
    assert.equal(answers.length, 40);
    assert.equal(c.counters().connections, 3);
    assert.equal(api.sim.counters.tlsHandshakes - handshakes, 3);
  });

  it('keeps a login session (AOS-CX: form login, cookie) and logs in again once when it expires', async () => {
    let c: ApiClient;
    const auth = sessionAuth(async () => {
      const r = await c.request('POST', '/rest/login', { form: { username: BASIC_USER, password: BASIC_PASSWORD }, anonymous: true, raw: true });
      const cookie = /^(id=[^;]+)/.exec(String(r.headers['set-cookie']?.[0] ?? ''))?.[1];
      if (!cookie) throw new Error('no session cookie');
      return { cookie };
    });
    c = client({ auth, maxSockets: 1 });
    const before = api.logins;
    assert.deepEqual(await Promise.all([c.get('/rest/system'), c.get('/rest/system')]), [{ hostname: 'sw-01' }, { hostname: 'sw-01' }]);
    assert.equal(api.logins - before, 1, 'one login shared by concurrent requests');
    api.sessions.clear(); // the switch dropped the session
    assert.deepEqual(await c.get('/rest/system'), { hostname: 'sw-01' });
    assert.equal(api.logins - before, 2);
    assert.deepEqual(
      api.sim.log.map((e) => `${e.method} ${e.path} ${e.status}`),
      ['POST /rest/login 200', 'GET /rest/system 200', 'GET /rest/system 200', 'GET /rest/system 401', 'POST /rest/login 200', 'GET /rest/system 200'],
    );
    auth.forget(); // after a logout: the next request logs in first instead of sending the dead cookie
    assert.deepEqual(await c.get('/rest/system'), { hostname: 'sw-01' });
    assert.deepEqual(api.sim.log.slice(-2).map((e) => `${e.method} ${e.path} ${e.status}`), ['POST /rest/login 200', 'GET /rest/system 200']);
  });

  describe('throttling and unavailability (429/503)', () => {
    it('waits exactly what Retry-After says (seconds), plus at most 10 %', async () => {
      api.sim.faults.add({ kind: 'status', status: 429, retryAfter: '2' });
      const c = client({ random: () => 0 });
      assert.equal((await c.get('/api/echo')).ok, true);
      assert.equal(clock.slept, 2000);
      assert.deepEqual(
        api.sim.log.map((e) => e.status),
        [429, 200],
      );
      assert.deepEqual([c.counters().retries, c.counters().throttled], [1, 1]);
    });

    it('accepts Graph\'s fractional Retry-After ("2.128", as in the corpus)', async () => {
      api.sim.faults.add({ kind: 'status', status: 429, retryAfter: '2.128' });
      await client({ random: () => 0 }).get('/api/echo');
      assert.equal(clock.slept, 2128);
    });

    it('accepts the HTTP-date form of Retry-After', async () => {
      // the virtual clock starts on a whole second, so the date is exact
      api.sim.faults.add({ kind: 'status', status: 503, retryAfter: new Date(clock.now() + 5000).toUTCString() });
      await client({ random: () => 0 }).get('/api/echo');
      assert.equal(clock.slept, 5000);
    });

    it('backs off exponentially with jitter when there is no Retry-After (Snipe-IT, some Intune 429s)', async () => {
      api.sim.faults.add({ kind: 'status', status: 429 }, { times: 3 });
      const c = client({ random: () => 1, retry: { baseDelayMs: 500 } });
      await c.get('/api/echo');
      assert.equal(clock.slept, 500 + 1000 + 2000);
      const low = new VirtualClock();
      api.sim.faults.add({ kind: 'status', status: 429 }, { times: 3 });
      await client({ clock: low, random: () => 0, retry: { baseDelayMs: 500 } }).get('/api/echo');
      assert.equal(low.slept, (500 + 1000 + 2000) / 2, 'jitter keeps at least half of the exponential delay');
    });

    it('gives up after maxAttempts with E_THROTTLED, having sent exactly maxAttempts requests', async () => {
      api.sim.faults.add({ kind: 'status', status: 429, retryAfter: '1' }, { times: Infinity });
      await assert.rejects(client({ retry: { maxAttempts: 4 } }).get('/api/echo'), isCode('E_THROTTLED', /still throttled by the server after 4 attempts/));
      assert.equal(api.sim.log.length, 4);
    });

    it('does not wait longer than the cap: a Retry-After of an hour fails at once and says so', async () => {
      api.sim.faults.add({ kind: 'status', status: 429, retryAfter: '3600' });
      await assert.rejects(client().get('/api/echo'), isCode('E_THROTTLED', /asks to wait 3600 s.*longer than the 120 s/));
      assert.equal(api.sim.log.length, 1);
      assert.equal(clock.slept, 0);
    });

    it('retries a POST on 429/503 (the server did not process it), not on 500', async () => {
      api.sim.faults.add({ kind: 'status', status: 503 }, { match: { method: 'POST' } });
      const c = client({ envelope: statusErrorEnvelope });
      await c.post('/api/items', { name: 'after-503' });
      assert.equal(api.created, 1);
      api.sim.log.length = 0;
      await assert.rejects(c.post('/api/status/500', {}), isCode('E_SERVER', /HTTP 500: Request_Failed: failed with 500/));
      assert.equal(api.sim.log.length, 1, 'a POST that may have been processed is not repeated');
      api.sim.log.length = 0;
      await assert.rejects(c.get('/api/status/502'), isCode('E_SERVER', /after 5 attempts/));
      assert.equal(api.sim.log.length, 5, 'a GET is');
    });
  });

  describe('slow, cut and dropped responses', () => {
    it('times out a slow answer; a GET is retried, a POST is not', async () => {
      api.sim.faults.add({ kind: 'latency', ms: 300 });
      const c = client({ timeoutMs: 80 });
      assert.equal((await c.get('/api/echo')).ok, true);
      assert.equal(c.counters().retries, 1);
      api.sim.faults.add({ kind: 'latency', ms: 300 }, { match: { method: 'POST' } });
      await assert.rejects(c.post('/api/items', { name: 'slow' }), isCode('E_TIMEOUT', /no complete answer within 80 ms/));
      assert.equal(c.counters().retries, 1, 'no retry of the POST');
    });

    it('does not wait forever for a server that never answers', async () => {
      api.sim.faults.add({ kind: 'hang' }, { times: 2 });
      await assert.rejects(client({ timeoutMs: 50, retry: { maxAttempts: 2 } }).get('/api/echo'), isCode('E_TIMEOUT', /after 2 attempts/));
    });

    it('detects a truncated body; retries a GET, never a POST whose write happened', async () => {
      api.sim.faults.add({ kind: 'truncate' });
      const c = client();
      const items = await c.get('/api/items');
      assert.equal(items.total, api.items.length);
      assert.equal(c.counters().retries, 1);
      const created = api.created;
      api.sim.faults.add({ kind: 'truncate' }, { match: { method: 'POST' } });
      await assert.rejects(c.post('/api/items', { name: 'cut' }), isCode('E_TRUNCATED_RESPONSE', /truncated: the connection closed after \d+ of \d+ bytes/));
      assert.equal(api.created, created + 1, 'the server did process it, once');
    });

    it('retries a GET on a dropped connection; a POST dropped after processing is reported, not repeated', async () => {
      api.sim.faults.add({ kind: 'drop' });
      const c = client({ envelope: statusErrorEnvelope });
      assert.equal((await c.get('/api/echo')).ok, true);
      const created = api.created;
      api.sim.faults.add({ kind: 'drop', when: 'after' }, { match: { method: 'POST' } });
      await assert.rejects(c.post('/api/items', { name: 'dropped' }), isCode('E_CONNECTION_DROPPED'));
      assert.equal(api.created, created + 1);
    });

    it('retries even a POST when the connection was refused (nothing was sent)', async () => {
      const port = await freePort();
      const c = client({ port, retry: { maxAttempts: 3 } });
      await assert.rejects(c.post('/api/items', { name: 'x' }), isCode('E_CONNECT', /connection refused \(after 3 attempts\)/));
      assert.equal(c.counters().retries, 2);
    });

    it('bounds the response size: a hostile server cannot exhaust memory', async () => {
      const c = client({ maxResponseBytes: 1000 });
      await assert.rejects(c.get('/api/big'), isCode('E_RESPONSE_TOO_LARGE', /larger than the 1000 bytes/));
      assert.equal(c.counters().retries, 0);
    });

    it('says so when the body is not JSON', async () => {
      await assert.rejects(client().get('/api/html'), isCode('E_BAD_RESPONSE', /expected JSON, got text\/html/));
    });
  });

  describe('errors', () => {
    it('maps HTTP statuses to the kit codes, with the server message', async () => {
      const c = client();
      await assert.rejects(c.get('/api/status/403'), isCode('E_FORBIDDEN', /GET \/api\/status\/403: forbidden \(HTTP 403: Request_Failed: failed with 403\)/));
      await assert.rejects(c.get('/api/status/404'), isCode('E_NOT_FOUND'));
      await assert.rejects(c.get('/api/status/409'), isCode('E_CONFLICT'));
      await assert.rejects(c.get('/api/nowhere'), isCode('E_NOT_FOUND', /NotFound: Resource not found/));
      const r = await c.request('GET', '/api/status/404', { accept: [404] });
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, 'Request_Failed');
    });

    it('reports errors inside HTTP 200 through the envelope check', async () => {
      const c = client({ envelope: statusErrorEnvelope });
      await assert.rejects(c.post('/api/items', { name: '' }), isCode('E_API_ERROR', /inside HTTP 200: name: The name field is required\./));
      assert.equal((await c.post('/api/items', { name: 'ok' })).status, 'success');
      const raw = await c.request('POST', '/api/items', { json: { name: '' }, envelope: false });
      assert.equal(raw.json.status, 'error');
    });

    it('rejects wrong credentials with E_AUTH and never shows them', async () => {
      const password = 'Wr0ng-Secret-Password';
      const logs: string[] = [];
      const c = client({ auth: basicAuth(BASIC_USER, password), log: (m) => logs.push(m) });
      await assert.rejects(c.get('/api/echo'), (e: Error) => {
        isCode('E_AUTH', /credentials rejected \(HTTP 401/)(e);
        assert.ok(!e.message.includes(password));
        assert.ok(!e.message.includes(Buffer.from(`${BASIC_USER}:${password}`).toString('base64')));
        return true;
      });
      assert.equal(api.sim.log.length, 1, 'static credentials are not retried');
    });

    it('sends an API key in its own header, and keeps a wrong one out of the message', async () => {
      assert.deepEqual(await client({ auth: apiKeyAuth('X-API-Key', API_KEY) }).get('/api/echo'), { ok: true, scheme: null });
      await assert.rejects(client({ auth: apiKeyAuth('X-API-Key', 'wrong-Key-42') }).get('/api/echo-secret'), (e: Error) => {
        isCode('E_AUTH')(e);
        return !e.message.includes('wrong-Key-42');
      });
    });

    it('redacts secrets a server echoes back, in errors and logs', async () => {
      const token = 'static-Token/with+chars=';
      api.validTokens.add(token);
      const logs: string[] = [];
      const c = client({ auth: bearerAuth(token), log: (m) => logs.push(m) });
      await assert.rejects(c.get('/api/echo-secret'), (e: Error) => {
        assert.match(e.message, /token <redacted> is not valid here/);
        assert.ok(!e.message.includes(token));
        return true;
      });
      const b = client({ log: (m) => logs.push(m) });
      api.sim.faults.add({ kind: 'status', status: 429, body: { error: { code: 'TooManyRequests', message: `slow down ${BASIC_PASSWORD}` } } });
      await b.get('/api/echo');
      await assert.rejects(b.get('/api/echo-secret'), (e: Error) => !e.message.includes(BASIC_PASSWORD) && /<redacted>/.test(e.message));
      assert.ok(logs.length > 0 && logs.every((l) => !l.includes(token) && !l.includes(BASIC_PASSWORD)));
    });

    it('never sends a request to another origin (token stays home)', async () => {
      const c = client();
      for (const url of ['https://graph.microsoft.com/v1.0/items', `http://127.0.0.1:${api.sim.port}/api/echo`, `https://localhost:${api.sim.port}/api/echo`]) {
        await assert.rejects(c.get(url), isCode('E_FOREIGN_ORIGIN', /refusing to send a request to/));
      }
      assert.deepEqual(api.sim.log, []);
      assert.deepEqual(await c.get(`${api.sim.url}/api/echo`), { ok: true, scheme: 'basic' }, 'an absolute URL on the same origin is fine');
    });
  });
});
