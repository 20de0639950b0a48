/**
 * The request budget on a virtual clock: sliding windows for all requests and
 * for writes, first come first served, and the hard cap per run. Plus the
 * budget inside a client talking to the simulated API (the server receives
 * nothing beyond the cap).
 */
import assert from 'node:assert/strict';
import { RequestBudget } from '../../providers/kit/budget.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { isCode } from './is-code.js';
import { useTestApi } from './test-api.js';

/** At most `count` of `times` fall into any window (t - windowMs, t]. */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (const t of times) best = Math.max(best, times.filter((x) => x > t - windowMs && x <= t).length);
  return best;
}

describe('kit: request budget', () => {
  it('delays requests beyond N per window until they fit (sequential)', async () => {
    const clock = new VirtualClock();
    const b = new RequestBudget({ requests: { count: 3, windowMs: 1000 } }, { clock });
    const t0 = clock.now();
    const at: number[] = [];
    for (let i = 0; i < 7; i++) {
      await b.acquire(false);
      at.push(clock.now() - t0);
    }
    assert.deepEqual(at, [0, 0, 0, 1000, 1000, 1000, 2000]);
    assert.deepEqual(b.counters, { requests: 7, writes: 0, delayed: 2, waitedMs: 2000 });
  });

  it('hands out slots first come, first served when callers race', async () => {
    const clock = new VirtualClock();
    const b = new RequestBudget({ requests: { count: 3, windowMs: 1000 } }, { clock });
    const t0 = clock.now();
    const at = await Promise.all(Array.from({ length: 7 }, () => b.acquire(false).then(() => clock.now() - t0)));
    assert.deepEqual(at, [0, 0, 0, 1000, 1000, 1000, 2000]);
    assert.equal(b.counters.waitedMs, 3 * 1000 + 2000);
  });

  it('counts a request of several units (a JSON batch) against the windows as that many', async () => {
    const clock = new VirtualClock();
    const b = new RequestBudget({ requests: { count: 10, windowMs: 1000 }, writes: { count: 4, windowMs: 1000 } }, { clock });
    const t0 = clock.now();
    const at: [string, number][] = [];
    for (const [units, write] of [[6, false], [3, false], [2, false], [3, true], [2, true], [25, false]] as const) {
      await b.acquire(write, units);
      at.push([`${units}${write ? 'w' : ''}`, clock.now() - t0]);
    }
    // 6 + 3 fit the first window; 2 more do not (11 > 10); 3 writes fit both windows then; 2 more writes exceed 4 writes;
    // a request larger than the window waits until the whole window is free.
    assert.deepEqual(at, [
      ['6', 0],
      ['3', 0],
      ['2', 1000],
      ['3w', 1000],
      ['2w', 2000],
      ['25', 3000],
    ]);
    assert.deepEqual([b.counters.requests, b.counters.writes], [6, 2], 'the run cap counts requests, not units');
  });

  it('limits writes separately; reads are not held to the write window', async () => {
    const clock = new VirtualClock();
    const b = new RequestBudget({ requests: { count: 10, windowMs: 20_000 }, writes: { count: 2, windowMs: 20_000 } }, { clock });
    const t0 = clock.now();
    const log: [string, number][] = [];
    for (const kind of ['w', 'w', 'r', 'w', 'r']) {
      await b.acquire(kind === 'w');
      log.push([kind, clock.now() - t0]);
    }
    assert.deepEqual(log, [
      ['w', 0],
      ['w', 0],
      ['r', 0],
      ['w', 20_000],
      ['r', 20_000],
    ]);
    assert.deepEqual([b.counters.requests, b.counters.writes], [5, 3]);
  });

  it('never lets a window hold more than its count, whatever the mix (200 random requests)', async () => {
    const clock = new VirtualClock();
    const b = new RequestBudget({ requests: { count: 7, windowMs: 1000 }, writes: { count: 3, windowMs: 2000 } }, { clock });
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const all: number[] = [];
    const writes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const w = rnd() < 0.3;
      if (rnd() < 0.2) clock.advance(Math.floor(rnd() * 1500));
      await b.acquire(w);
      all.push(clock.now());
      if (w) writes.push(clock.now());
    }
    assert.ok(maxInWindow(all, 1000) <= 7, `request window: ${maxInWindow(all, 1000)}`);
    assert.ok(maxInWindow(writes, 2000) <= 3, `write window: ${maxInWindow(writes, 2000)}`);
    assert.equal(maxInWindow(all, 1000), 7, 'and the budget is used up to its limit (not just slow)');
  });

  it('fails loudly beyond the run cap, without waiting', async () => {
    const clock = new VirtualClock();
    const b = new RequestBudget({ maxTotal: 5 }, { clock, label: 'demo/MdmTenant/intune' });
    for (let i = 0; i < 5; i++) await b.acquire(i % 2 === 0);
    await assert.rejects(b.acquire(false), isCode('E_BUDGET_EXHAUSTED', /^demo\/MdmTenant\/intune: request budget exhausted: 5 requests already sent in this run/));
    assert.equal(clock.slept, 0);
  });

  describe('inside a client', () => {
    const t = useTestApi();

    it('stops a runaway loop at the cap: the server receives exactly the allowed requests', async () => {
      const c = t.client({ budget: { maxTotal: 12 } });
      let sent = 0;
        await assert.rejects(
          (async () => {
            for (;;) {
              await c.get('/api/echo');
              sent++;
            }
          })(),
          isCode('E_BUDGET_EXHAUSTED'),
        );
      assert.equal(sent, 12);
      assert.equal(t.api.sim.log.length, 12);
      assert.equal(c.counters().budgetRequests, 12);
    });

    it('counts retries against the budget and spaces writes by the write window', async () => {
      const { clock } = t;
      const c = t.client({ random: () => 0, budget: { writes: { count: 2, windowMs: 20_000 } } });
      {
        t.api.sim.faults.add({ kind: 'status', status: 429, retryAfter: '1' }, { match: { method: 'POST' } });
        for (let i = 0; i < 3; i++) await c.post('/api/items', { name: `budget-${i}` });
        const n = c.counters();
        assert.deepEqual([n.budgetRequests, n.budgetWrites, n.retries], [4, 4, 1]);
        // slots at 0 (429) and 1000 (its retry, after Retry-After); write 2 waits for 0 + 20 s, write 3 for 1000 + 20 s
        assert.equal(n.budgetWaitedMs, (20_000 - 1000) + (21_000 - 20_000));
        assert.equal(clock.now() - clock.slept, new VirtualClock().now(), 'all time passed in sleeps');
      }
    });
  });
});
