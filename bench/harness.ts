/**
 * Shared parts of `npm run bench` (bench/main.ts and its cases):
 *
 * - `BenchReport`: what a case returns; main prints it as a table. A case
 *   module (bench/network.ts, bench/winrm.ts, ...) should return one; main
 *   prints any other plain object key by key.
 * - `runEinklang`: runs the real CLI as a child process (test/support/cli.ts)
 *   with EINKLANG_REPORT_MEMORY=1 and returns its wall time and peak RSS.
 * - cleanup: everything a case starts (servers, temp dirs, children) is
 *   registered with `deferCleanup` and removed at the end, on errors, and on
 *   Ctrl-C / SIGTERM (`installCleanupHandlers`).
 *
 * Numbers are printed, never asserted: targets are shown as met or missed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCli, type CliResult } from '../test/support/cli.js';

export interface Row {
  metric: string;
  value: string;
  /** The target from the issue, as text (e.g. ">= 50x", "< 300 MB"). */
  target?: string;
  /** Whether the target is met (shown as "ok" / "MISSED"). */
  ok?: boolean;
}

export interface BenchReport {
  title: string;
  /** Lines printed under the title (setup, what was compared). */
  notes?: string[];
  rows: Row[];
}

// ---------------------------------------------------------------- numbers

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmtSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(3)} s` : `${s.toFixed(1)} s`;
}

export function fmtMB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

/** "median 0.512 s (min 0.498, max 0.540, 5 runs)" */
export function fmtRuns(seconds: number[]): string {
  if (seconds.length === 1) return fmtSeconds(seconds[0]);
  const min = Math.min(...seconds).toFixed(3);
  const max = Math.max(...seconds).toFixed(3);
  return `${fmtSeconds(median(seconds))} (min ${min}, max ${max}, ${seconds.length} runs)`;
}

// ---------------------------------------------------------------- einklang as a child

export interface TimedRun extends CliResult {
  seconds: number;
  /** From the CLI's `einklang: peak-rss-bytes N` line on stderr. */
  peakRssBytes: number;
}

/**
 * Runs `einklang ARGS` and times it (wall clock in this process, node start
 * included). Throws with the child's output when the exit code is not one of
 * `expect` (default [0]).
 */
export async function runEinklang(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; expect?: number[] } = {},
): Promise<TimedRun> {
  const t0 = performance.now();
  const r = await runCli(['--quiet', ...args], {
    cwd: opts.cwd,
    env: { EINKLANG_REPORT_MEMORY: '1', ...opts.env },
    timeoutMs: opts.timeoutMs ?? 600_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const expect = opts.expect ?? [0];
  if (!expect.includes(r.code)) {
    const all = `${r.stdout}\n${r.stderr}`.split('\n');
    const failures = all.filter((l) => /FAILED|error/.test(l)).slice(0, 5);
    throw new Error(`einklang ${args.join(' ')} exited ${r.code} (expected ${expect.join(' or ')})\n${[...failures, '...', ...all.slice(-15)].join('\n')}`);
  }
  const m = /einklang: peak-rss-bytes (\d+)/.exec(r.stderr);
  return { ...r, seconds, peakRssBytes: m ? Number(m[1]) : NaN };
}

/** The CLI's stage timings (EINKLANG_TIMINGS=1): stage -> wall and CPU in ms; per-target sums as `sum:<name>`. */
export function parseTimings(stderr: string): Map<string, { wallMs: number; cpuMs: number }> {
  const out = new Map<string, { wallMs: number; cpuMs: number }>();
  for (const m of stderr.matchAll(/^einklang: timing (\S+) wall=([\d.]+) cpu=([\d.]+)$/gm)) out.set(m[1], { wallMs: Number(m[2]), cpuMs: Number(m[3]) });
  for (const m of stderr.matchAll(/^einklang: timing-sum (\S+) total=([\d.]+) count=(\d+)$/gm)) out.set(`sum:${m[1]}`, { wallMs: Number(m[2]) / Math.max(1, Number(m[3])), cpuMs: NaN });
  return out;
}

/** Rows: the median wall and CPU per stage over several timed runs (the CPU is einklang's own process). */
export function timingRows(runs: TimedRun[], label: string): Row[] {
  const parsed = runs.map((r) => parseTimings(r.stderr));
  const stages = [...new Set(parsed.flatMap((p) => [...p.keys()]))];
  const rows: Row[] = [];
  let cpuTotal = 0;
  for (const s of stages) {
    const wall = median(parsed.map((p) => p.get(s)?.wallMs ?? 0));
    const cpu = median(parsed.map((p) => p.get(s)?.cpuMs ?? 0));
    if (s.startsWith('sum:')) {
      rows.push({ metric: `  ${label}: ${s.slice(4)} per target (overlapping)`, value: `${wall.toFixed(0)} ms wall` });
      continue;
    }
    cpuTotal += cpu;
    rows.push({ metric: `  ${label}: ${s}`, value: `${wall.toFixed(0)} ms wall, ${cpu.toFixed(0)} ms CPU` });
  }
  if (rows.length) rows.unshift({ metric: `where ${label}'s time goes (median of ${runs.length})`, value: `${cpuTotal.toFixed(0)} ms of einklang's own CPU` });
  return rows;
}

/** Runs the same command `runs` times (sequentially). */
export async function repeatEinklang(runs: number, args: string[], opts: Parameters<typeof runEinklang>[1]): Promise<TimedRun[]> {
  const out: TimedRun[] = [];
  for (let i = 0; i < runs; i++) out.push(await runEinklang(args, opts));
  return out;
}

// ---------------------------------------------------------------- cleanup

interface Cleanup {
  name: string;
  run: () => Promise<void> | void;
  /** Last resort when the process exits without the async cleanup having run. */
  sync?: () => void;
  done: boolean;
}

const cleanups: Cleanup[] = [];

/**
 * Registers something to undo. Returns a function that undoes it now (and
 * only once); whatever is still registered at the end is undone by
 * `cleanupAll`, newest first.
 */
export function deferCleanup(name: string, run: () => Promise<void> | void, sync?: () => void): () => Promise<void> {
  const c: Cleanup = { name, run, sync, done: false };
  cleanups.push(c);
  return async () => {
    if (c.done) return;
    c.done = true;
    await c.run();
  };
}

/** A new temp dir, removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const rm = () => rmSync(dir, { recursive: true, force: true });
  deferCleanup(`temp dir ${dir}`, rm, rm);
  return dir;
}

export async function cleanupAll(): Promise<void> {
  for (const c of [...cleanups].reverse()) {
    if (c.done) continue;
    c.done = true;
    try {
      await c.run();
    } catch (e) {
      process.stderr.write(`bench: cleanup of ${c.name} failed: ${(e as Error).message}\n`);
    }
  }
}

function cleanupSync(): void {
  for (const c of [...cleanups].reverse()) {
    if (c.done) continue;
    c.done = true;
    try {
      c.sync?.();
    } catch {
      // best effort on the way out
    }
  }
}

/** Ctrl-C / SIGTERM: undo everything, then exit (a second signal skips to the synchronous fallback). */
export function installCleanupHandlers(): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      cleanupSync();
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`\nbench: ${sig}, cleaning up...\n`);
    cleanupAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', cleanupSync);
}

// ---------------------------------------------------------------- printing

export function printReport(r: BenchReport): void {
  const out: string[] = ['', `== ${r.title}`];
  for (const n of r.notes ?? []) out.push(`   ${n}`);
  if (r.rows.length) {
    const status = (x: Row) => (x.ok === undefined ? '' : x.ok ? 'ok' : 'MISSED');
    const head = { metric: 'metric', value: 'value', target: 'target', ok: undefined } as Row;
    const w1 = Math.max(...[head, ...r.rows].map((x) => x.metric.length));
    const w2 = Math.max(...[head, ...r.rows].map((x) => x.value.length));
    const w3 = Math.max(...[head, ...r.rows].map((x) => (x.target ?? '').length));
    const line = (x: Row, st: string) => `   ${x.metric.padEnd(w1)}  ${x.value.padEnd(w2)}  ${(x.target ?? '').padEnd(w3)}  ${st}`.trimEnd();
    out.push('', line(head, 'status'), `   ${'-'.repeat(w1 + w2 + w3 + 12)}`);
    for (const x of r.rows) out.push(line(x, status(x)));
  }
  process.stdout.write(out.join('\n') + '\n');
}

/** A case module that returned something other than a BenchReport: print its fields. */
export function reportFromObject(title: string, value: unknown): BenchReport {
  if (value && typeof value === 'object' && Array.isArray((value as BenchReport).rows)) {
    const r = value as BenchReport;
    return { ...r, title: r.title ?? title };
  }
  const rows: Row[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'function') return;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else {
      rows.push({ metric: prefix || 'result', value: typeof v === 'string' ? v : JSON.stringify(v) });
    }
  };
  walk('', value);
  return { title, rows };
}
