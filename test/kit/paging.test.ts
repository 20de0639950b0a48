/**
 * Paging helpers against the simulated API: OData nextLink across pages (and
 * the refusal of a link to another origin, also with Graph's own documented
 * body from the corpus), offset/limit with a server that clamps the limit and
 * one that restarts at offset 0 past the end (Snipe-IT seats), loops and
 * runaway collections.
 */
import assert from 'node:assert/strict';
import { ApiClient } from '../../providers/kit/client.js';
import { basicAuth } from '../../providers/kit/auth.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { collect, cursorPages, odataPages, offsetPages } from '../../providers/kit/paging.js';
import { Router } from '../../providers/kit/sim/router.js';
import { startHttpsSim } from '../../providers/kit/sim/https-sim.js';
import { jsonResponse } from '../../providers/kit/sim/types.js';
import { corpusJson } from '../support/shared.js';
import { isCode } from './is-code.js';
import { BASIC_PASSWORD, BASIC_USER, startTestApi, type TestApi } from './test-api.js';

describe('kit: paging', function () {
  this.timeout(10_000);
  let api: TestApi;
  let c: ApiClient;

  before(async () => {
    api = await startTestApi();
    c = new ApiClient({ host: '127.0.0.1', port: api.sim.port, tlsFingerprint: api.sim.fingerprint, auth: basicAuth(BASIC_USER, BASIC_PASSWORD), clock: new VirtualClock() });
  });
  after(async () => {
    c.close();
    await api.sim.stop();
  });
  beforeEach(() => {
    api.sim.log.length = 0;
    api.offsetClamp = 500;
    api.resetOffsetBeyondTotal = false;
  });

  it('follows @odata.nextLink (absolute URLs) until it is absent', async () => {
    const items = await collect(odataPages(c, '/v1.0/items'));
    assert.deepEqual(items, api.items);
    assert.deepEqual(
      api.sim.log.map((e) => e.path + e.query),
      ['/v1.0/items', '/v1.0/items?$skiptoken=3', '/v1.0/items?$skiptoken=6'],
    );
  });

  it('refuses a nextLink to another origin: the token is never sent there', async () => {
    await assert.rejects(collect(odataPages(c, '/v1.0/foreign')), isCode('E_FOREIGN_ORIGIN', /https:\/\/graph\.microsoft\.com/));
    assert.equal(api.sim.log.length, 1);
  });

  it("refuses the nextLink of Graph's documented answer when talking to another host (corpus groups_delta_nextLink)", async () => {
    const doc = corpusJson('graph', 'v1.0', 'groups_delta_nextLink.json').response.body;
    const r = new Router().get('/v1.0/groups/delta', () => jsonResponse(200, doc));
    const sim = await startHttpsSim({ certSeed: 'test/Graph/corpus', router: r });
    const g = new ApiClient({ host: '127.0.0.1', port: sim.port, tlsFingerprint: sim.fingerprint, clock: new VirtualClock() });
    try {
      const seen: unknown[] = [];
      await assert.rejects(
        (async () => {
          for await (const x of odataPages(g, '/v1.0/groups/delta')) seen.push(x);
        })(),
        isCode('E_FOREIGN_ORIGIN'),
      );
      assert.deepEqual(seen, [], 'not even the first page is used: the collection would be incomplete');
      assert.equal(sim.log.length, 1);
    } finally {
      g.close();
      await sim.stop();
    }
  });

  it('stops a server whose nextLink loops, and one that never ends', async () => {
    await assert.rejects(collect(odataPages(c, '/v1.0/looping')), isCode('E_PAGING', /same next page twice/));
    await assert.rejects(collect(odataPages(c, '/v1.0/items', { maxPages: 2 })), isCode('E_PAGING', /more than 2 pages/));
  });

  it('pages with limit/offset, advancing by the rows received when the server clamps the limit', async () => {
    api.offsetClamp = 2;
    const items = await collect(offsetPages(c, '/api/items', { limit: 5 }));
    assert.deepEqual(items, api.items, 'nothing lost, nothing twice');
    assert.deepEqual(
      api.sim.log.map((e) => e.query),
      ['?limit=5&offset=0', '?limit=5&offset=2', '?limit=5&offset=4', '?limit=5&offset=6'],
    );
  });

  it('stops at total even where the server restarts at offset 0 past the end (Snipe-IT seats)', async () => {
    api.resetOffsetBeyondTotal = true;
    const items = await collect(offsetPages(c, '/api/items', { limit: 7 }));
    assert.deepEqual(items, api.items);
    assert.equal(api.sim.log.length, 1);
  });

  it("reads Snipe-IT's documented {total, rows} answer (corpus licenses_list) in one request", async () => {
    const doc = corpusJson('snipeit', 'licenses_list.json').response.body;
    const r = new Router().get('/api/v1/licenses', () => jsonResponse(200, doc));
    const sim = await startHttpsSim({ certSeed: 'test/Snipe/corpus', router: r });
    const s = new ApiClient({ host: '127.0.0.1', port: sim.port, tlsFingerprint: sim.fingerprint, basePath: '/api/v1', clock: new VirtualClock() });
    try {
      const rows = await collect(offsetPages<{ name: string }>(s, '/licenses'));
      assert.equal(rows.length, doc.total);
      assert.deepEqual(
        rows.map((x) => x.name),
        doc.rows.map((x: { name: string }) => x.name),
      );
      assert.equal(sim.log.length, 1);
    } finally {
      s.close();
      await sim.stop();
    }
  });

  it('generic cursors: stops on a repeated cursor', async () => {
    const pages: Record<string, { items: number[]; next?: string }> = { '': { items: [1], next: 'a' }, a: { items: [2], next: 'b' }, b: { items: [3] } };
    assert.deepEqual(await collect(cursorPages<number, string>(async (k) => pages[k ?? ''])), [1, 2, 3]);
    await assert.rejects(
      collect(cursorPages<number, string>(async (k) => ({ items: [0], next: k === 'x' ? 'y' : 'x' }))),
      isCode('E_PAGING'),
    );
  });
});
