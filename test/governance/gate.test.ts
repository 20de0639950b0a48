import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signPlan, computePlanHash } from '../../engine/governance/approvals.js';
import { applyGate } from '../../engine/governance/gate.js';
import { checkChangeWindow, insideWindow, localTime } from '../../engine/governance/change-windows.js';
import { environment, makePlan, person } from './helpers.js';

describe('governance apply gate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'einklang-gate-'));
  const alice = person(dir, 'alice', ['school-net']);
  const bob = person(dir, 'bob', ['school-net']);
  const carol = person(dir, 'carol', ['school-net']);
  const author = person(dir, 'dave', ['school-net'], 'author@example.org');
  const reviewers = [alice, bob, carol, author].map((p) => p.reviewer);
  // Tuesday 2025-01-14 10:00 Europe/Berlin (09:00Z); Saturday 2025-01-18 10:00.
  const tuesday = new Date('2025-01-14T09:00:00Z');
  const saturday = new Date('2025-01-18T09:00:00Z');
  const windows = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '07:00', end: '18:00' }];
  const env = environment('school-a', 'school', { approvals: { required: 2, groups: ['school-net'] }, changeWindows: windows });
  const ctx = (over: Partial<Parameters<typeof applyGate>[1]> = {}) => ({ reviewers, environments: [env], now: tuesday, emergency: false, ...over });
  const signed = (...who: typeof alice[]) => {
    const p = makePlan();
    p.approvals = who.map((w) => signPlan(p, w.key, w.name));
    return p;
  };

  it('applies a plan with 2 valid approvals inside the window', () => {
    const g = applyGate(signed(alice, bob), ctx());
    assert.equal(g.ok, true, g.reasons.join('\n'));
    assert.deepEqual(g.approvers, ['alice', 'bob']);
    assert.equal(g.required, 2);
  });

  it('refuses with 1 approval, and when the author signs', () => {
    assert.equal(applyGate(signed(alice), ctx()).ok, false);
    const g = applyGate(signed(alice, author), ctx());
    assert.equal(g.ok, false);
    assert.match(g.reasons.join('\n'), /author/);
  });

  it('refuses a tampered plan (any field changed after signing)', () => {
    const p = signed(alice, bob);
    p.changes[0].after = { id: 666 };
    const g = applyGate(p, ctx());
    assert.equal(g.ok, false);
    assert.match(g.reasons[0], /hash does not match/);
    // even if the attacker recomputes the hash, the signatures no longer verify
    p.hash = computePlanHash(p);
    const g2 = applyGate(p, ctx());
    assert.equal(g2.ok, false);
    assert.match(g2.reasons.join('\n'), /signature does not verify/);
  });

  it('refuses a plan that is not applyable or names unknown environments', () => {
    const p = makePlan({ applyable: false });
    p.approvals = [signPlan(p, alice.key, 'alice'), signPlan(p, bob.key, 'bob')];
    assert.match(applyGate(p, ctx()).reasons.join('\n'), /not applyable/);
    assert.match(applyGate(signed(alice, bob), ctx({ environments: [] })).reasons.join('\n'), /school-a of the plan was not found/);
    const admin = environment('school-a', 'administration');
    assert.match(applyGate(signed(alice, bob), ctx({ environments: [admin] })).reasons.join('\n'), /zone/);
  });

  it('refuses outside the change window', () => {
    const g = applyGate(signed(alice, bob), ctx({ now: saturday }));
    assert.equal(g.ok, false);
    assert.match(g.reasons.join('\n'), /outside every change window/);
  });

  it('refuses an emergency apply without the extra approval, allows it with one', () => {
    const g = applyGate(signed(alice, bob), ctx({ now: saturday, emergency: true }));
    assert.equal(g.ok, false);
    assert.match(g.reasons.join('\n'), /needs 3 approval/);
    const ok = applyGate(signed(alice, bob, carol), ctx({ now: saturday, emergency: true }));
    assert.equal(ok.ok, true, ok.reasons.join('\n'));
    assert.equal(ok.required, 3);
  });

  it('adds extra approvals from policy results (destructive-change cap)', () => {
    const policy = [{ name: 'builtin/destructive-change-cap', enforcement: 'advisory' as const, passed: false, violations: [], extraApprovals: 1 }];
    const p = makePlan({ policy });
    p.approvals = [signPlan(p, alice.key, 'alice'), signPlan(p, bob.key, 'bob')];
    assert.equal(applyGate(p, ctx()).ok, false);
    p.approvals.push(signPlan(p, carol.key, 'carol'));
    assert.equal(applyGate(p, ctx()).ok, true);
  });

  it('never needs fewer approvals than the plan states, and needs none where nothing is declared', () => {
    const lax = environment('school-a', 'school', {});
    assert.equal(applyGate(signed(alice), ctx({ environments: [lax] })).ok, false); // plan says 2
    const p = makePlan({ approvalsRequired: { count: 0, groups: [] } });
    assert.equal(applyGate(p, ctx({ environments: [lax] })).ok, true);
    const strict = environment('school-a', 'school', { approvals: { required: 1 } });
    assert.equal(applyGate(p, ctx({ environments: [strict] })).ok, false, 'the environment as it is now can demand more than the plan says');
    p.approvals = [signPlan(p, alice.key, 'alice')];
    assert.equal(applyGate(p, ctx({ environments: [strict] })).ok, true);
  });
});

describe('governance change windows', () => {
  const w = (days: string[], start: string, end: string, timeZone?: string) => ({ days: days as any, start, end, timeZone });

  it('reads the wall clock in Europe/Berlin across daylight saving time', () => {
    assert.deepEqual(localTime(new Date('2025-01-15T06:30:00Z')), { day: 'wed', minutes: 7 * 60 + 30 }); // CET
    assert.deepEqual(localTime(new Date('2025-07-16T05:30:00Z')), { day: 'wed', minutes: 7 * 60 + 30 }); // CEST
    // 2025-03-30: 02:00 CET -> 03:00 CEST
    assert.deepEqual(localTime(new Date('2025-03-30T00:59:00Z')), { day: 'sun', minutes: 60 + 59 });
    assert.deepEqual(localTime(new Date('2025-03-30T01:00:00Z')), { day: 'sun', minutes: 3 * 60 });
    // 2025-10-26: 03:00 CEST -> 02:00 CET
    assert.deepEqual(localTime(new Date('2025-10-26T00:30:00Z')), { day: 'sun', minutes: 2 * 60 + 30 });
    assert.deepEqual(localTime(new Date('2025-10-26T01:30:00Z')), { day: 'sun', minutes: 2 * 60 + 30 });
  });

  it('applies windows in local time in winter and summer', () => {
    const win = w(['wed'], '07:00', '08:00');
    assert.equal(insideWindow(new Date('2025-01-15T06:30:00Z'), win), true);
    assert.equal(insideWindow(new Date('2025-07-16T05:30:00Z'), win), true);
    assert.equal(insideWindow(new Date('2025-07-16T06:30:00Z'), win), false); // 08:30 CEST
    assert.equal(insideWindow(new Date('2025-01-15T07:00:00Z'), win), false); // end is exclusive
  });

  it('handles windows crossing midnight, belonging to their start day', () => {
    const win = w(['fri'], '22:00', '02:00');
    assert.equal(insideWindow(new Date('2025-01-17T21:30:00Z'), win), true); // fri 22:30
    assert.equal(insideWindow(new Date('2025-01-18T00:30:00Z'), win), true); // sat 01:30
    assert.equal(insideWindow(new Date('2025-01-18T01:30:00Z'), win), false); // sat 02:30
    assert.equal(insideWindow(new Date('2025-01-17T00:30:00Z'), win), false); // fri 01:30 (thu not listed)
    assert.equal(insideWindow(new Date('2025-01-17T22:59:00Z'), w(['fri'], '00:00', '24:00')), true); // fri 23:59
  });

  it('honours other time zones and refuses unknown ones', () => {
    assert.equal(insideWindow(new Date('2025-01-15T13:30:00Z'), w(['wed'], '08:00', '09:00', 'America/New_York')), true);
    const c = checkChangeWindow(new Date(), [w(['mon'], '07:00', '08:00', 'Mars/Olympus')], false);
    assert.equal(c.allowed, false);
    assert.match(c.reason, /ignored/);
  });

  it('emergency allows outside a window for one extra approval; no windows = no restriction', () => {
    const sat = new Date('2025-01-18T09:00:00Z');
    const wins = [w(['mon'], '07:00', '08:00')];
    assert.deepEqual(
      [checkChangeWindow(sat, wins, false).allowed, checkChangeWindow(sat, wins, true).allowed, checkChangeWindow(sat, wins, true).extraApprovals],
      [false, true, 1],
    );
    assert.equal(checkChangeWindow(sat, [], false).allowed, true);
    assert.equal(checkChangeWindow(sat, undefined, false).extraApprovals, 0);
  });
});
