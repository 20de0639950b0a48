/**
 * Conformance suite for drivers of API-managed systems (Intune, opsi,
 * OPNsense, Snipe-IT, ...). ONE suite: every API driver registers itself with
 *
 *   apiTargetConformance('snipeit', async () => fixtureForSnipeIt());
 *
 * and must pass what the contract (engine/contract.ts TargetReader, ChangeWriter, TransactionWriter)
 * and DESIGN.md promise for API targets:
 *   - a wrong tlsFingerprint fails (E_TLS_FINGERPRINT) before the simulator
 *     receives a single request (so no credential);
 *   - wrong credentials fail with E_AUTH, and no secret appears in the message;
 *   - read never writes: the simulator's write counter does not move across reads;
 *   - read of an absent object returns null (and answers every requested key);
 *   - a create / update / delete round trip converges (a re-plan is empty);
 *   - a failed change leaves everything as it was: the suite makes the 1st,
 *     2nd, ... write of a change fail until the change needs no more writes,
 *     and compares the simulator's whole model before and after each failure;
 *   - live objects no manifest declares are reported as unmanaged;
 *   - two live objects with the same natural key give E_AMBIGUOUS_LIVE naming
 *     both server ids; or, where the system itself keeps the key unique (the
 *     fixture says why in `uniqueNaturalKey`: opsi's group id is the table's
 *     primary key), a second object with that key is refused or merged, never
 *     a duplicate, and a read finds exactly one.
 *
 * Desired objects come from the fixture; changes are built by the engine's own
 * plan stage (engine/plan.ts changeFor, with the kind's registered KindDef
 * so its normalize applies). How a change is written (mode 'change': one
 * applyChange per change; mode 'transaction': one applyTransaction per
 * target) is decided in `applyChanges` below and nowhere else.
 */
import assert from 'node:assert/strict';
import type { Change, DesiredObject, Driver, ReadResult, TargetReader, TargetSpec, TargetWriter } from '../../engine/types.js';
import { DriverError, objectKey } from '../../engine/types.js';
import { changeFor } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import { defaultCatalog } from '../../cli/catalog.js';

/** The simulator behind a fixture, as the suite needs to see it. */
export interface ApiSimAccess {
  /** Write requests it has received so far (whatever their outcome). */
  writes(): number;
  /** Requests of any kind it has received so far. */
  requests(): number;
  /** Its whole model as plain data: equal before and after a failed change. */
  snapshot(): unknown;
  /** Makes the n-th write request from now (1 = the next) fail on the server without changing anything. */
  failNthWrite(n: number): void;
  /** Removes injected faults that did not fire. */
  clearFaults(): void;
  /** Out of band (not through the driver): a live object with this natural key; returns its server id. */
  createLive(key: string): Promise<string>;
}

export interface ApiTargetFixture {
  driver: Driver;
  /** The target resource as the engine hands it to the driver: connection to the started simulator, secrets resolved. */
  target: TargetSpec;
  /** The object kind under test. */
  kind: string;
  /**
   * A desired object of `kind` whose natural key (the object's `id`) is `key`.
   * Variants `a` and `b` differ in every managed field; `absent` declares ensure: absent.
   */
  desired(key: string, variant: 'a' | 'b' | 'absent'): DesiredObject;
  sim: ApiSimAccess;
  /** `target.connection` fields holding secrets (password, token, clientSecret, apiSecret, ...). */
  secretFields: string[];
  /**
   * For systems whose natural keys have a syntax (OPNsense alias names:
   * letters, digits, '_'): the key to use for the suite's `conf <what> <n>`.
   * Default: that text as it is.
   */
  keyFor?(text: string): string;
  /** Why the system cannot hold two objects with one natural key (its primary key); unset when it can. */
  uniqueNaturalKey?: string;
  cleanup(): Promise<void>;
}

const noSecrets = new Secrets({ zone: 'school' });

/** Applies a target's changes in the writer's style, as apply does. The only place that knows both styles. */
export async function applyChanges(w: TargetWriter, changes: Change[]): Promise<void> {
  if (w.mode === 'transaction') return w.applyTransaction(changes);
  for (const c of changes) await w.applyChange(c);
}

function request(desired: DesiredObject[]) {
  return desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state }));
}

/** The engine's plan stage for these objects: one Change per object that differs. */
function plan(desired: DesiredObject[], read: ReadResult): Change[] {
  return desired.flatMap((o) => {
    const live = read.objects[objectKey(o.kind, o.id)];
    assert.ok(live !== undefined, `read result lacks ${o.kind} ${o.id}`);
    const c = changeFor(defaultCatalog().kind(o.kind), o, o.state, live, noSecrets);
    return c ? [c] : [];
  });
}

export function apiTargetConformance(title: string, factory: (ctx: Mocha.Context) => Promise<ApiTargetFixture>): void {
  describe(`API target conformance: ${title}`, function () {
    this.timeout(30_000);
    let fx: ApiTargetFixture;
    let n = 0;
    /** A natural key unique to this test run. */
    const key = (what: string) => (fx.keyFor ?? ((t: string) => t))(`conf ${what} ${++n}`);

    before(async function () {
      fx = await factory(this);
    });
    after(async () => {
      await fx?.cleanup();
    });
    afterEach(() => fx.sim.clearFaults());

    async function withReader<T>(fn: (r: TargetReader) => Promise<T>, target = fx.target): Promise<T> {
      const r = await fx.driver.connectReader(target, { timeoutMs: 10_000 });
      try {
        return await fn(r);
      } finally {
        await r.close();
      }
    }

    async function withWriter<T>(fn: (w: TargetWriter) => Promise<T>): Promise<T> {
      const w = await fx.driver.connectWriter(fx.target, { timeoutMs: 10_000 });
      try {
        return await fn(w);
      } finally {
        await w.close();
      }
    }

    const planOnly = (desired: DesiredObject[]) => withReader(async (r) => plan(desired, await r.read(request(desired))));

    /** Plan, apply, re-plan: the re-plan must be empty. Returns the actions applied. */
    async function converge(desired: DesiredObject[]): Promise<string[]> {
      const changes = await withWriter(async (w) => {
        const cs = plan(desired, await w.read(request(desired)));
        await applyChanges(w, cs);
        return cs;
      });
      assert.deepEqual(
        (await planOnly(desired)).map((c) => `${c.id}: ${c.actions}`),
        [],
        'a re-plan right after apply shows no changes',
      );
      return changes.map((c) => `${c.id}: ${c.actions}`);
    }

    /** Fails a read session (connect or first read) the way `check` expects. */
    async function readFails(target: TargetSpec, check: (e: Error) => boolean): Promise<void> {
      await assert.rejects(
        withReader((r) => r.read(request([fx.desired(key('probe'), 'a')])), target),
        check,
      );
    }

    it('refuses a wrong tlsFingerprint before sending any request', async () => {
      const before = fx.sim.requests();
      const wrong = { ...fx.target, connection: { ...fx.target.connection, tlsFingerprint: '00:'.repeat(31) + '00' } };
      await readFails(wrong, (e) => e instanceof DriverError && e.opts.code === 'E_TLS_FINGERPRINT' && /nothing was sent/i.test(e.message));
      assert.equal(fx.sim.requests(), before, 'no request reached the simulator');
    });

    it('rejects wrong credentials with E_AUTH, without showing any secret', async () => {
      assert.ok(fx.secretFields.length > 0, 'an API target has credentials');
      for (const field of fx.secretFields) {
        const wrongValue = `wrong-${field}-S3cr3t`;
        const wrong = { ...fx.target, connection: { ...fx.target.connection, [field]: wrongValue } };
        await readFails(wrong, (e) => {
          assert.ok(e instanceof DriverError, String(e));
          assert.equal(e.opts.code, 'E_AUTH', e.message);
          for (const f of fx.secretFields) {
            assert.ok(!e.message.includes(String(fx.target.connection[f])), `message shows ${f}`);
          }
          assert.ok(!e.message.includes(wrongValue), `message shows the wrong ${field}`);
          return true;
        });
      }
    });

    it('reads without writing, and reads an absent object as null', async () => {
      const present = key('present');
      await converge([fx.desired(present, 'a')]);
      const absent = key('absent');
      const writes = fx.sim.writes();
      const requests = fx.sim.requests();
      const result = await withReader((r) => r.read(request([fx.desired(present, 'a'), fx.desired(absent, 'a'), fx.desired(key('gone'), 'absent')])));
      assert.equal(fx.sim.writes(), writes, 'read never writes');
      assert.ok(fx.sim.requests() > requests, 'the read did reach the simulator');
      assert.equal(result.objects[objectKey(fx.kind, absent)], null);
      assert.equal(result.objects[objectKey(fx.kind, present)]?.id, present);
      assert.equal(Object.keys(result.objects).length, 3, 'every requested object is answered');
      await converge([fx.desired(present, 'absent')]);
    });

    it('converges a create, an update and a delete', async () => {
      const k = key('round trip');
      assert.deepEqual(await converge([fx.desired(k, 'a')]), [`${k}: create`]);
      assert.deepEqual(await converge([fx.desired(k, 'b')]), [`${k}: update`]);
      assert.deepEqual(await converge([fx.desired(k, 'absent')]), [`${k}: delete`]);
      assert.deepEqual(await converge([fx.desired(k, 'absent')]), [], 'deleting the absent is a no-op');
    });

    it('leaves everything as it was when any write of a change fails', async () => {
      const k = key('atomic');
      for (const [from, to] of [
        [undefined, 'a'],
        ['a', 'b'],
        ['b', 'absent'],
      ] as const) {
        let failures = 0;
        for (let nth = 1; ; nth++) {
          const before = fx.sim.snapshot();
          fx.sim.failNthWrite(nth);
          const desired = [fx.desired(k, to)];
          const outcome = await withWriter(async (w) => {
            const cs = plan(desired, await w.read(request(desired)));
            assert.equal(cs.length, 1, `one change from ${from ?? 'nothing'} to ${to}`);
            return applyChanges(w, cs).then(
              () => 'applied',
              (e: Error) => e,
            );
          });
          fx.sim.clearFaults();
          if (outcome === 'applied') break;
          failures++;
          assert.ok(outcome instanceof DriverError, `a failed change rejects with a DriverError: ${outcome}`);
          assert.deepEqual(fx.sim.snapshot(), before, `write ${nth} failed: the system must be as before (${outcome.message})`);
          assert.ok(nth < 20, 'a change needs fewer than 20 writes');
        }
        assert.ok(failures >= 1, 'the first write of every change was made to fail');
        assert.deepEqual(await planOnly([fx.desired(k, to)]), [], `${from ?? 'nothing'} -> ${to} converged after the failures`);
      }
    });

    it('reports live objects no manifest declares as unmanaged', async () => {
      const k = key('unmanaged');
      await fx.sim.createLive(k);
      const result = await withReader((r) => r.read(request([fx.desired(key('declared'), 'a')])));
      const found = (result.unmanaged ?? []).filter((u) => u.kind === fx.kind && u.id === k);
      assert.equal(found.length, 1, `unmanaged lists ${k}`);
    });

    it('refuses to guess between two live objects with one natural key (E_AMBIGUOUS_LIVE naming both ids)', async () => {
      const k = key('twin');
      if (fx.uniqueNaturalKey) {
        // The system keeps the key unique: a second create is refused or lands on the same object.
        const first = await fx.sim.createLive(k);
        const second = await fx.sim.createLive(k).then(
          (id) => id,
          () => first,
        );
        assert.equal(second, first, `a second object with key ${k} got its own server id (${fx.uniqueNaturalKey})`);
        const result = await withReader((r) => r.read(request([fx.desired(k, 'a')])));
        assert.equal(result.objects[objectKey(fx.kind, k)]?.id, k, 'the one live object is found');
        return;
      }
      const ids = [await fx.sim.createLive(k), await fx.sim.createLive(k)];
      const writes = fx.sim.writes();
      await assert.rejects(
        withReader((r) => r.read(request([fx.desired(k, 'a')]))),
        (e: Error) => {
          assert.ok(e instanceof DriverError && e.opts.code === 'E_AMBIGUOUS_LIVE', String(e));
          for (const id of ids) assert.ok(e.message.includes(id), `message names server id ${id}: ${e.message}`);
          return true;
        },
      );
      assert.equal(fx.sim.writes(), writes);
    });
  });
}
