/**
 * `npm run bench -- --case kit`: what the provider kit costs per request, on
 * the kit's own simulator (127.0.0.1, lab certificate, pinned):
 * sequential and concurrent requests over keep-alive, reading 20 000 objects
 * by OData nextLink (Graph pages) and by limit/offset (Snipe-IT clamps at
 * 500), JSON-RPC as one batch vs single calls, and what Graph's write limit
 * (100 writes per 20 s per app and tenant) means for 1 000 writes (virtual
 * clock: the wait is computed, not slept). Numbers are printed, never asserted.
 */
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../providers/kit/client.js';
import { bearerAuth } from '../providers/kit/auth.js';
import { RequestBudget } from '../providers/kit/budget.js';
import { VirtualClock } from '../providers/kit/clock.js';
import { JsonRpcClient } from '../providers/kit/jsonrpc.js';
import { collect, odataPages, offsetPages } from '../providers/kit/paging.js';
import { Router } from '../providers/kit/sim/router.js';
import { startHttpsSim } from '../providers/kit/sim/https-sim.js';
import { jsonResponse } from '../providers/kit/sim/types.js';
import { fmtMB, median, type BenchReport, type Row } from './harness.js';

const OBJECTS = 20_000;
const TOKEN = 'bench-token';

function device(i: number) {
  return { id: `dev-${i}`, deviceName: `GSNORD-IPAD-${i}`, serialNumber: `DMPXK${String(i).padStart(5, '0')}`, operatingSystem: 'iOS', osVersion: '17.5', complianceState: 'compliant' };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function benchKit(runs: number): Promise<BenchReport> {
  const devices = Array.from({ length: OBJECTS }, (_, i) => device(i));
  const r = new Router()
    .get('/api/ping', () => jsonResponse(200, { ok: true }))
    .get('/v1.0/devices', (req) => {
      const skip = Number(req.query.get('$skiptoken') ?? 0);
      const next = skip + 1000 < devices.length ? `${url}/v1.0/devices?$skiptoken=${skip + 1000}` : undefined;
      return jsonResponse(200, { value: devices.slice(skip, skip + 1000), ...(next ? { '@odata.nextLink': next } : {}) });
    })
    .get('/api/v1/licenses', (req) => {
      const limit = Math.min(Number(req.query.get('limit') ?? 500), 500);
      const offset = Number(req.query.get('offset') ?? 0);
      return jsonResponse(200, { total: devices.length, rows: devices.slice(offset, offset + limit) });
    })
    .post('/rpc', (req) => {
      const b = req.json();
      const answer = (e: { id: number; params: unknown }) => ({ id: e.id, result: e.params, error: null });
      return jsonResponse(200, Array.isArray(b) ? b.map(answer) : answer(b));
    });
  const sim = await startHttpsSim({ certSeed: 'bench/Kit/api', router: r, maxBodyBytes: 16 * 1024 * 1024 });
  const url = sim.url;
  const client = (maxSockets = 4) =>
    new ApiClient({ host: '127.0.0.1', port: sim.port, tlsFingerprint: sim.fingerprint, auth: bearerAuth(TOKEN), maxSockets, budget: { maxTotal: 1_000_000 } });
  const rows: Row[] = [];
  const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000)} req/s`;
  try {
    const N = 2000;
    const seq: number[] = [];
    const conc: number[] = [];
    let connections = 0;
    for (let i = 0; i < runs; i++) {
      const c = client(1);
      seq.push((await timed(async () => {
        for (let k = 0; k < N; k++) await c.get('/api/ping');
      })).ms);
      connections = c.counters().connections;
      c.close();
      const p = client(4);
      conc.push((await timed(() => Promise.all(Array.from({ length: N }, () => p.get('/api/ping'))))).ms);
      p.close();
    }
    rows.push({ metric: `${N} sequential GETs, 1 keep-alive connection (${connections} opened), median of ${runs}`, value: `${(median(seq) / 1000).toFixed(2)} s, ${rate(N, median(seq))}` });
    rows.push({ metric: `${N} GETs at once over 4 connections, median of ${runs}`, value: `${(median(conc) / 1000).toFixed(2)} s, ${rate(N, median(conc))}` });

    const o = client();
    const od = await timed(() => collect(odataPages(o, '/v1.0/devices')));
    rows.push({ metric: `OData: ${od.value.length} devices, pages of 1000 via @odata.nextLink (${o.counters().requests} requests)`, value: `${(od.ms / 1000).toFixed(2)} s` });
    o.close();
    const s = client();
    const off = await timed(() => collect(offsetPages(s, '/api/v1/licenses', { limit: 500 })));
    rows.push({ metric: `limit/offset: ${off.value.length} rows, clamp 500 (${s.counters().requests} requests)`, value: `${(off.ms / 1000).toFixed(2)} s` });
    s.close();

    const j = client(1);
    const rpc = new JsonRpcClient(j, { version: '1.0' });
    const calls = Array.from({ length: 1000 }, (_, i) => ({ method: 'productOnClient_getObjects', params: [[], { clientId: `pc-${i}.schule.local` }] }));
    const batch = await timed(() => rpc.batchResults(calls));
    const single = await timed(async () => {
      for (const c of calls) await rpc.call(c.method, c.params);
    });
    rows.push({ metric: 'JSON-RPC: 1000 calls as one batch', value: `${(batch.ms / 1000).toFixed(3)} s (1 request)` });
    rows.push({ metric: 'JSON-RPC: 1000 single calls', value: `${(single.ms / 1000).toFixed(2)} s (${single.ms > 0 ? (single.ms / batch.ms).toFixed(0) : '?'}x the batch)` });
    j.close();

    const clock = new VirtualClock();
    const budget = new RequestBudget({ requests: { count: 1000, windowMs: 20_000 }, writes: { count: 100, windowMs: 20_000 } }, { clock });
    const w = await timed(async () => {
      for (let k = 0; k < 1000; k++) await budget.acquire(true);
    });
    rows.push({
      metric: "budget: 1000 writes under Graph's 100 writes / 20 s (virtual clock)",
      value: `waits ${(budget.counters.waitedMs / 1000).toFixed(0)} s in production, ${budget.counters.delayed} delayed; computed in ${w.ms.toFixed(0)} ms`,
    });
    rows.push({ metric: 'simulator: requests served, TLS handshakes', value: `${sim.counters.requests}, ${sim.counters.tlsHandshakes}` });
    rows.push({ metric: 'RSS of the bench process after the case', value: fmtMB(process.memoryUsage().rss) });
  } finally {
    await sim.stop();
  }
  return { title: 'case kit: provider kit HTTPS client on its simulator (127.0.0.1, pinned lab certificate)', rows };
}
