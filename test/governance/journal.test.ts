import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJournal, GENESIS, journalPath, verifyJournal, type JournalInput } from '../../engine/governance/journal.js';

const input = (i: number): JournalInput => ({
  author: 'author@example.org',
  approvers: ['alice', 'bob'],
  planHash: `sha256:${String(i).padStart(64, '0')}`,
  emergency: i === 2,
  results: [{ address: `school-a/Vlan/v${i}[core-01]`, actions: ['create'], status: 'applied' }],
  environments: ['school-a'],
});

describe('governance journal', () => {
  let file: string;
  beforeEach(async () => {
    file = journalPath(mkdtempSync(join(tmpdir(), 'einklang-journal-')));
    for (let i = 1; i <= 4; i++) await appendJournal(file, input(i));
  });
  const lines = () => readFileSync(file, 'utf8').trim().split('\n');
  const write = (ls: string[]) => writeFileSync(file, ls.join('\n') + '\n');

  it('chains entries and verifies an untouched journal', async () => {
    const ls = lines().map((l) => JSON.parse(l));
    assert.deepEqual(ls.map((e) => e.seq), [1, 2, 3, 4]);
    assert.equal(ls[0].prevHash, GENESIS);
    assert.equal(ls[2].prevHash, ls[1].hash);
    assert.equal(ls[1].emergency, true);
    assert.deepEqual(ls[0].approvers, ['alice', 'bob']);
    const v = verifyJournal(file);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.entries, 4);
    assert.equal(v.head, ls[3].hash);
    assert.equal(verifyJournal(file, { expectedHead: ls[3].hash }).ok, true);
  });

  it('detects an edited entry and reports its line', () => {
    const ls = lines();
    write([ls[0], ls[1].replace('"applied"', '"failed"'), ls[2], ls[3]]);
    const v = verifyJournal(file);
    assert.equal(v.ok, false);
    assert.deepEqual(v.problems.map((p) => p.line), [2]);
    assert.match(v.problems[0].message, /edited/);
  });

  it('detects an edit whose hash was recomputed (at the next line)', async () => {
    const { entryHash } = await import('../../engine/governance/journal.js');
    const ls = lines();
    const e = JSON.parse(ls[1]);
    e.approvers = ['mallory'];
    e.hash = entryHash(e);
    write([ls[0], JSON.stringify(e), ls[2], ls[3]]);
    const v = verifyJournal(file);
    assert.deepEqual(v.problems.map((p) => p.line), [3]);
  });

  it('detects a removed, an inserted and a reordered entry', () => {
    const ls = lines();
    write([ls[0], ls[2], ls[3]]);
    assert.equal(verifyJournal(file).problems[0].line, 2);
    write([ls[0], ls[1], ls[1], ls[2], ls[3]]);
    assert.equal(verifyJournal(file).problems[0].line, 3);
    write([ls[0], ls[2], ls[1], ls[3]]);
    const v = verifyJournal(file);
    assert.equal(v.ok, false);
    assert.equal(v.problems[0].line, 2);
  });

  it('detects a byte flipped anywhere, garbage lines, and truncation at the end with expectedHead', () => {
    const text = readFileSync(file, 'utf8');
    for (let i = 0; i < text.length - 1; i += 37) {
      if (text[i] === '\n') continue;
      const flipped = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
      writeFileSync(file, flipped);
      assert.equal(verifyJournal(file).ok, false, `flip at ${i} not detected`);
    }
    const ls = text.trim().split('\n');
    write([ls[0], 'not json', ls[2], ls[3]]);
    assert.equal(verifyJournal(file).problems[0].line, 2);
    const head = JSON.parse(ls[3]).hash;
    write(ls.slice(0, 3));
    assert.equal(verifyJournal(file).ok, true); // a shorter valid chain...
    assert.equal(verifyJournal(file, { expectedHead: head }).ok, false); // ...is caught with the known head
  });

  it('keeps the chain under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => appendJournal(file, input(10 + i))));
    const v = verifyJournal(file);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.entries, 14);
  });
});
