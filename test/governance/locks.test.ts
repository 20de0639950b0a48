import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireAll, FileLockStore, LockHeldError, LocksHeldError, envLockStore } from '../../engine/governance/locks.js';

const locksModule = resolve('dist/engine/governance/locks.js');

function runChild(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code, out }));
  });
}

describe('governance locks', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'einklang-locks-'));
  });

  it('refuses a held lock, naming holder and since, and allows it after release', async () => {
    const store = new FileLockStore(root);
    const a = await store.acquire('school-a', { holder: 'ci-job-1' });
    assert.equal(a.env, 'school-a');
    assert.ok(store.path('school-a').startsWith(join(root, '.einklang', 'locks')));
    await assert.rejects(store.acquire('school-a', { holder: 'ci-job-2' }), (e: any) => {
      assert.ok(e instanceof LockHeldError);
      assert.match(e.message, /locked by ci-job-1 since \d{4}-/);
      assert.match(e.message, new RegExp(`einklang unlock school-a --id ${a.id}`));
      return true;
    });
    // another environment is independent
    const other = await store.acquire('school-b', { holder: 'x' });
    assert.equal(await store.release('school-a', 'wrong-id'), false);
    assert.equal(await store.release('school-a', a.id), true);
    const b = await store.acquire('school-a', { holder: 'ci-job-2' });
    assert.notEqual(b.id, a.id);
    assert.equal((await store.current('school-a'))!.holder, 'ci-job-2');
    await store.release('school-b', other.id);
  });

  it('waits for a lock and gives up after the timeout', async () => {
    const store = new FileLockStore(root);
    const a = await store.acquire('e', { holder: 'first' });
    setTimeout(() => void store.release('e', a.id), 150);
    const t0 = Date.now();
    const b = await store.acquire('e', { holder: 'second', wait: true, timeoutMs: 5000, pollMs: 20 });
    assert.ok(Date.now() - t0 >= 100);
    await assert.rejects(store.acquire('e', { holder: 'third', wait: true, timeoutMs: 100, pollMs: 20 }), /locked by second.*waited/);
    await store.release('e', b.id);
  });

  it('breaks a stale lock only with its id', async () => {
    const { store, env } = envLockStore(join(root, 'school-a'));
    assert.equal(env, 'school-a');
    const a = await store.acquire(env, { holder: 'crashed' });
    await assert.rejects(store.break(env, 'nope'), /locked with id .* not nope/);
    const broken = await store.break(env, a.id);
    assert.equal(broken.holder, 'crashed');
    assert.equal(await store.current(env), null);
    await assert.rejects(store.break(env, a.id), /not locked/);
    // an empty (half-written) lock file is held and breakable as "unknown"
    mkdirSync(join(root, 'school-a', '.einklang', 'locks'), { recursive: true });
    writeFileSync(store.path(env), '');
    // the hint names the folder `einklang unlock` takes, as typed from the current folder
    await assert.rejects(store.acquire(env, { holder: 'x' }), new RegExp(`unlock ${join(root, 'school-a')} --id unknown`));
    await store.break(env, 'unknown');
  });

  it('acquires several environments in order and releases all on failure', async () => {
    const store = new FileLockStore(root);
    const blocker = await store.acquire('b', { holder: 'other' });
    const blockerD = await store.acquire('d', { holder: 'third' });
    await assert.rejects(acquireAll([{ store, env: 'c' }, { store, env: 'a' }, { store, env: 'b' }, { store, env: 'd' }], { holder: 'me' }), (e: any) => {
      // every locked environment is named, not only the first one met
      assert.ok(e instanceof LocksHeldError);
      assert.deepEqual(e.held.map((h: LockHeldError) => h.env), ['b', 'd']);
      assert.match(e.message, new RegExp(`locked by other .*--id ${blocker.id}\n.*locked by third .*--id ${blockerD.id}`));
      return true;
    });
    assert.equal(await store.current('a'), null);
    assert.equal(await store.current('c'), null);
    await store.release('b', blocker.id);
    await store.release('d', blockerD.id);
    const all = await acquireAll([{ store, env: 'c' }, { store, env: 'a' }], { holder: 'me' });
    assert.deepEqual(all.held.map((h) => h.env), ['a', 'c']);
    await all.release();
    assert.equal(await store.current('a'), null);
  });

  it('never lets two processes hold one lock', async function () {
    this.timeout(60_000);
    const script = join(root, 'child.mjs');
    const log = join(root, 'log.txt');
    writeFileSync(
      script,
      `import { FileLockStore } from ${JSON.stringify(locksModule)};
import { appendFileSync, existsSync } from 'node:fs';
const [root, log, mode] = process.argv.slice(2);
const store = new FileLockStore(root);
try {
  const l = await store.acquire('school-a', { holder: 'p' + process.pid, wait: mode === 'wait', timeoutMs: 30000, pollMs: 5 });
  appendFileSync(log, 'enter ' + process.pid + '\\n');
  if (mode === 'wait') await new Promise((r) => setTimeout(r, 20));
  // racing: hold until the parent has seen every other racer give up
  else for (let i = 0; i < 2000 && !existsSync(root + '/release'); i++) await new Promise((r) => setTimeout(r, 10));
  appendFileSync(log, 'exit ' + process.pid + '\\n');
  await store.release('school-a', l.id);
  console.log('held');
} catch (e) {
  console.log(e.name === 'LockHeldError' ? 'refused' : 'error ' + e.message);
}
`,
    );
    // 1) racing without waiting: exactly one wins
    let exited = 0;
    const racing = Array.from({ length: 8 }, () =>
      runChild(script, [root, log, 'nowait']).then((r) => {
        if (++exited === 7) writeFileSync(join(root, 'release'), '');
        return r;
      }),
    );
    const racers = await Promise.all(racing);
    const outs = racers.map((r) => r.out.trim());
    assert.equal(outs.filter((o) => o === 'held').length, 1, outs.join(','));
    assert.equal(outs.filter((o) => o === 'refused').length, 7, outs.join(','));
    // 2) all waiting: all get it, one after the other, never overlapping
    writeFileSync(log, '');
    const waiters = await Promise.all(Array.from({ length: 6 }, () => runChild(script, [root, log, 'wait'])));
    assert.deepEqual(waiters.map((r) => r.out.trim()), Array(6).fill('held'));
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, 12);
    for (let i = 0; i < lines.length; i += 2) {
      assert.match(lines[i], /^enter (\d+)$/);
      assert.equal(lines[i + 1], lines[i].replace('enter', 'exit'), `overlap at line ${i + 1}: ${lines.join(' | ')}`);
    }
  });
});
