#!/usr/bin/env node
/**
 * The `einklang` command line. Exit codes (DESIGN.md):
 *   validate: 0 valid, 1 diagnostics
 *   plan:     0 no changes, 2 changes, 1 error or mandatory policy violation
 *   show:     0, 1
 *   apply:    0 all applied, 1 anything failed or refused
 *   drift:    0 none, 2 drift (changes or unmanaged objects), 1 error
 *   lab:      runs until SIGINT/SIGTERM
 * Bad input never produces a stack trace (set EINKLANG_DEBUG=1 to see one).
 * The grammar and every help text are in usage.ts.
 */
import { runCommand, UsageError } from './commands.js';
import { formatTimings } from '../engine/timings.js';
import { visible } from '../engine/render/escape.js';
import { parseCommandLine, usageError } from './usage.js';
import { engineVersion } from '../engine/paths.js';
import { failureJson, wantsJson } from './json-output.js';

async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, engineVersion);
  if (line.kind === 'print') {
    (line.toStderr ? process.stderr : process.stdout).write(line.text);
    return line.code;
  }
  if (line.kind === 'error') {
    process.stderr.write(usageError(line.message, line.verb));
    if (wantsJson(argv, line.verb)) process.stdout.write(failureJson('E_USAGE', line.message));
    return 1;
  }
  // https://no-color.org: the flag and the variable mean the same to every renderer.
  if (line.opts['no-color']) process.env.NO_COLOR = '1';
  try {
    return await runCommand(line.verb, line.args, line.opts);
  } catch (e) {
    const json = wantsJson(argv, line.verb);
    if (e instanceof UsageError) {
      process.stderr.write(usageError(visible(e.message), line.verb));
      if (json) process.stdout.write(failureJson('E_USAGE', e.message));
      return 1;
    }
    process.stderr.write(`einklang: error: ${visible((e as Error)?.message ?? String(e))}\n`);
    if (json) process.stdout.write(failureJson('E_RUN', (e as Error)?.message ?? String(e)));
    if (process.env.EINKLANG_DEBUG) process.stderr.write(String((e as Error)?.stack) + '\n');
    return 1;
  }
}

function reportMemory(): void {
  if (process.env.EINKLANG_REPORT_MEMORY) process.stderr.write(`einklang: peak-rss-bytes ${process.resourceUsage().maxRSS * 1024}\n`);
  if (process.env.EINKLANG_TIMINGS) process.stderr.write(formatTimings().join('\n') + '\n');
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`einklang: internal error: ${visible(String(e?.message ?? e))}\n`);
  if (process.env.EINKLANG_DEBUG) process.stderr.write(String(e?.stack) + '\n');
  process.exit(1);
});

// A run whose work left nothing to wait for but never finished (a driver's promise that never settles) would
// otherwise end with exit 0 and no output: an apply that silently did not happen. It is an error.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  process.stderr.write('einklang: internal error: the run stopped before it finished (an operation was left unanswered); nothing further was done\n');
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    reportMemory();
    // Let stdout drain before exiting (large plans piped to a file).
    process.stdout.write('', () => process.exit(code));
  },
  (e) => {
    finished = true;
    process.stderr.write(`einklang: internal error: ${visible(String(e?.message ?? e))}\n`);
    process.exit(1);
  },
);
