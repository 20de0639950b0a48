/**
 * The simulator base itself: routing (404 vs 405, parameters), the rate
 * limiter, fault rules, body limits, handler failures, and the request log
 * and write counter the conformance suites rely on.
 */
import assert from 'node:assert/strict';
import { ApiClient } from '../../providers/kit/client.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { Router } from '../../providers/kit/sim/router.js';
import { FaultInjector } from '../../providers/kit/sim/faults.js';
import { FixedWindowLimiter } from '../../providers/kit/sim/rate-limit.js';
import { startHttpsSim, type RunningHttpsSim } from '../../providers/kit/sim/https-sim.js';
import { HttpError, jsonResponse } from '../../providers/kit/sim/types.js';
import { labCertificate } from '../../providers/lab/identity.js';
import { isCode } from './is-code.js';

describe('kit: simulator base', function () {
  this.timeout(10_000);

  it('routes by method and path, telling 404 from 405, with decoded parameters', () => {
    const h = () => jsonResponse(200, {});
    const r = new Router().get('/api/v1/licenses/:id', h).put('/api/v1/licenses/:id', h).get('/files/*rest', h);
    const m = r.match('GET', '/api/v1/licenses/42');
    assert.ok('params' in m && m.params.id === '42' && m.write === false);
    const put = r.match('PUT', '/api/v1/licenses/a%2Fb');
    assert.ok('params' in put && put.params.id === 'a/b' && put.write === true);
    assert.deepEqual(r.match('DELETE', '/api/v1/licenses/42'), { status: 405 });
    assert.deepEqual(r.match('GET', '/api/v1/licenses/42/seats'), { status: 404 });
    const w = r.match('GET', '/files/a/b%20c');
    assert.ok('params' in w && w.params.rest === 'a/b c');
  });

  it('limits N requests per fixed window per key and says when to come back', () => {
    let now = 0;
    const l = new FixedWindowLimiter({ limit: 3, windowMs: 60_000, now: () => now });
    assert.deepEqual([l.hit('u1'), l.hit('u1'), l.hit('u1')].map((v) => v.allowed), [true, true, true]);
    now = 15_000;
    assert.deepEqual(l.hit('u1'), { allowed: false, retryAfterSeconds: 45 });
    assert.equal(l.hit('u2').allowed, true, 'per key');
    now = 60_000;
    assert.equal(l.hit('u1').allowed, true, 'new window');
    assert.equal(l.refused, 1);
  });

  it('applies fault rules to matching requests, the given number of times, in order', () => {
    const f = new FaultInjector().add({ kind: 'drop' }, { match: { method: 'POST', path: /^\/rpc/ }, times: 2 }).add({ kind: 'hang' });
    assert.equal(f.take('GET', '/rpc')?.kind, 'hang');
    assert.equal(f.take('POST', '/rpc')?.kind, 'drop');
    assert.equal(f.take('POST', '/rpc/x')?.kind, 'drop');
    assert.equal(f.take('POST', '/rpc'), undefined);
    assert.deepEqual([f.injected.drop, f.injected.hang, f.pending()], [2, 1, 0]);
  });

  it('lets `skip` matching requests through first (the n-th write fails), with several methods', () => {
    const f = new FaultInjector().add({ kind: 'status', status: 500 }, { match: { method: ['POST', 'PUT'] }, skip: 2 });
    assert.equal(f.take('GET', '/x'), undefined, 'not a match, not counted');
    assert.equal(f.take('POST', '/x'), undefined);
    assert.equal(f.take('PUT', '/x'), undefined);
    assert.equal(f.take('PUT', '/x')?.kind, 'status');
    assert.equal(f.pending(), 0);
  });

  describe('server', () => {
    let sim: RunningHttpsSim;
    let c: ApiClient;
    const limiter = new FixedWindowLimiter({ limit: 1000, windowMs: 60_000 });
    before(async () => {
      const r = new Router()
        .get('/ok', () => jsonResponse(200, { ok: true }))
        .post('/echo', (req) => jsonResponse(200, req.json()))
        .get('/boom', () => {
          throw new Error('handler bug');
        })
        .get('/teapot', () => {
          throw new HttpError(418, { error: 'teapot' });
        })
        .post('/search', (req) => jsonResponse(200, { rows: [], q: req.json() }), { write: false });
      sim = await startHttpsSim({
        certSeed: 'test/Sim/base',
        router: r,
        maxBodyBytes: 100,
        gate: () => {
          const v = limiter.hit('all');
          return v.allowed ? undefined : jsonResponse(429, { status: 'error', messages: 'Too many requests' }, { 'retry-after': String(v.retryAfterSeconds) });
        },
        notFound: () => jsonResponse(404, { status: 'error', messages: '404 endpoint not found', payload: null }),
        methodNotAllowed: () => jsonResponse(405, { status: 'error', messages: 'Method not allowed', payload: null }),
      });
      c = new ApiClient({ host: '127.0.0.1', port: sim.port, tlsFingerprint: sim.fingerprint, clock: new VirtualClock() });
    });
    after(async () => {
      c.close();
      await sim.stop();
    });

    it('presents the lab certificate of its seed', () => {
      assert.equal(sim.fingerprint, labCertificate('test/Sim/base', 'test/Sim/base').fingerprint256);
      assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    it('answers unknown paths and wrong methods in the configured shapes', async () => {
      await assert.rejects(c.get('/nowhere'), isCode('E_NOT_FOUND', /404 endpoint not found/));
      await assert.rejects(c.delete('/ok'), isCode('E_HTTP', /HTTP 405: Method not allowed/));
    });

    it('turns handler failures into HTTP answers and refuses oversized bodies', async () => {
      await assert.rejects(c.get('/boom', { idempotent: false }), isCode('E_SERVER', /simulator error: handler bug/));
      await assert.rejects(c.get('/teapot'), isCode('E_HTTP', /HTTP 418: teapot/));
      await assert.rejects(c.post('/echo', { blob: 'x'.repeat(200) }), isCode('E_HTTP', /HTTP 413/));
      assert.deepEqual(await c.post('/echo', { a: 1 }), { a: 1 });
    });

    it('logs every request and counts writes by route, not by method', async () => {
      const before = { ...sim.counters };
      await c.get('/ok');
      await c.post('/search', { q: 'x' });
      await c.post('/echo', { b: 2 });
      assert.equal(sim.counters.requests - before.requests, 3);
      assert.equal(sim.counters.writes - before.writes, 1, 'POST /search is declared a read');
      assert.deepEqual(
        sim.log.slice(-3).map((e) => [e.method, e.path, e.status, e.write]),
        [
          ['GET', '/ok', 200, false],
          ['POST', '/search', 200, false],
          ['POST', '/echo', 200, true],
        ],
      );
    });
  });

  it('filters new connections with `admit` (accept, drop, reset) and keeps established ones', async () => {
    let verdict: 'accept' | 'drop' | 'reset' = 'accept';
    const s = await startHttpsSim({ certSeed: 'test/Sim/admit', router: new Router().get('/ok', () => jsonResponse(200, { ok: true })), admit: () => verdict });
    const client = (timeoutMs = 300) => new ApiClient({ host: '127.0.0.1', port: s.port, tlsFingerprint: s.fingerprint, timeoutMs, idleTimeoutMs: 10_000, retry: { maxAttempts: 1 } });
    const kept = client();
    const fresh = [client(), client()];
    try {
      assert.deepEqual(await kept.get('/ok'), { ok: true }, 'accepted');
      verdict = 'drop';
      assert.deepEqual(await kept.get('/ok'), { ok: true }, 'an established connection is not asked again');
      await assert.rejects(fresh[0].get('/ok'), isCode('E_TIMEOUT'));
      verdict = 'reset';
      await assert.rejects(fresh[1].get('/ok'), (e: Error) => /reset|ECONNRESET|socket hang up|closed/i.test(e.message));
      assert.equal(s.counters.refusedConnections, 2);
      assert.equal(s.counters.tlsHandshakes, 1, 'refused connections never reach TLS');
    } finally {
      for (const c of [kept, ...fresh]) c.close();
      await s.stop();
    }
  });
});
