/**
 * The reference API driver (test/kit/notes) against its simulator: it passes
 * the API-target conformance suite, registered in one line, and copes with
 * the simulator's quirks (paging clamp, rate limit without Retry-After).
 */
import assert from 'node:assert/strict';
import type { DesiredObject, TargetSpec } from '../../engine/types.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { apiTargetConformance, type ApiTargetFixture } from '../support/api-conformance.js';
import { NOTE, notesDriver } from './notes/driver.js';
import { startNotesSim, type RunningNotesSim } from './notes/sim.js';

const TOKEN = 'notes-token-4f1c9e';
const ADDRESS = 'conf/NotesServer/notes';

function target(sim: RunningNotesSim, extra: Record<string, unknown> = {}): TargetSpec {
  return {
    address: ADDRESS,
    kind: 'NotesServer',
    name: 'notes',
    zone: 'school',
    spec: {},
    connection: { driver: 'notes', host: '127.0.0.1', port: sim.sim.port, token: TOKEN, tlsFingerprint: sim.sim.fingerprint, ...extra },
  };
}

function desired(key: string, variant: 'a' | 'b' | 'absent'): DesiredObject {
  const state = variant === 'b' ? { body: 'second text', tags: ['y', 'z'] } : { body: 'first text', tags: ['x'] };
  return {
    address: `conf/Note/${key}`,
    resource: `conf/Note/${key}`,
    kind: NOTE,
    target: ADDRESS,
    id: key,
    ensure: variant === 'absent' ? 'absent' : 'present',
    state: variant === 'absent' ? {} : state,
    dependsOn: [],
    pos: { file: 'conf/notes.yaml', line: 1, col: 1 },
  };
}

async function notesFixture(): Promise<ApiTargetFixture> {
  const clock = new VirtualClock();
  // a small page clamp makes every read page
  const sim = await startNotesSim({ token: TOKEN, certSeed: ADDRESS, pageClamp: 2, clock });
  return {
    driver: notesDriver({ clock }),
    target: target(sim),
    kind: NOTE,
    desired,
    secretFields: ['token'],
    sim: {
      writes: () => sim.sim.counters.writes,
      requests: () => sim.sim.counters.requests,
      snapshot: () => structuredClone([...sim.notes.values()]),
      failNthWrite: (n) => sim.failNthWrite(n),
      clearFaults: () => sim.sim.faults.clear(),
      createLive: async (key) => String(sim.add(key, 'made by hand')),
    },
    cleanup: () => sim.stop(),
  };
}

apiTargetConformance('notes (reference driver on the kit)', notesFixture);

describe('notes reference driver: quirks', function () {
  this.timeout(10_000);
  let sim: RunningNotesSim;
  let clock: VirtualClock;
  beforeEach(async () => {
    clock = new VirtualClock();
    sim = await startNotesSim({ token: TOKEN, certSeed: ADDRESS, perMinute: 5, pageClamp: 1, clock });
  });
  afterEach(async () => {
    await sim.stop();
  });

  async function readAll() {
    const r = await notesDriver({ clock }).connectReader(target(sim, { requestsPerMinute: 5 }));
    try {
      return await r.read([{ kind: NOTE, id: 'n7', state: {} }]);
    } finally {
      await r.close();
    }
  }

  it('stays inside the server rate limit by its budget: waits, never collects a 429', async () => {
    for (let i = 0; i < 8; i++) sim.add(`n${i}`, 'b', []);
    const result = await readAll(); // 1 probe + 8 one-row pages: 9 requests, more than 5 per minute
    assert.deepEqual(result.objects[`${NOTE}\u0000n7`]?.state, { body: 'b', tags: [] });
    assert.equal(result.unmanaged?.length, 7);
    assert.equal(sim.limiter.refused, 0, 'no 429');
    assert.ok(clock.slept >= 60_000, `waited for the next window (${clock.slept} ms virtual)`);
  });

  it('backs off when the server throttles anyway (429 without Retry-After)', async () => {
    sim.add('n7', 'b', []);
    sim.sim.faults.add({ kind: 'status', status: 429, body: { status: 'error', messages: 'Too many requests', payload: null } }, { times: 2 });
    const result = await readAll();
    assert.ok(result.objects[`${NOTE}\u0000n7`]);
    assert.equal(sim.sim.faults.injected.status, 2);
  });

  it('refuses a loopback target without a pin, before connecting', async () => {
    await assert.rejects(notesDriver({ clock }).connectReader(target(sim, { tlsFingerprint: undefined })), /tlsFingerprint is required for a loopback/);
    assert.equal(sim.sim.counters.connections, 0);
  });
});
