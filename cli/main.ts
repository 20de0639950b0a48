#!/usr/bin/env node
/**
 * The `einklang` command line. Exit codes (DESIGN.md):
 *   validate: 0 valid, 1 diagnostics
 *   plan:     0 no changes, 2 changes, 1 error or mandatory policy violation
 *   show:     0, 1
 *   apply:    0 all applied, 1 anything failed or refused
 *   drift:    0 none, 2 drift, 1 error
 *   lab:      runs until SIGINT/SIGTERM
 * Bad input never produces a stack trace (set EINKLANG_DEBUG=1 to see one).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runCommand, UsageError } from './commands.js';
import { visible } from '../engine/render/escape.js';

const HELP = `einklang — desired state for the IT of schools and administration

Usage:
  einklang validate PATH... [--format text|json]
  einklang plan PATH... [--out FILE] [--format text|json|markdown] [--author WHO]
  einklang show FILE [--format text|json|markdown]
  einklang apply FILE [--wait SECONDS] [--emergency] [--journal-key KEYFILE]
  einklang drift PATH... [--format text|json|markdown]
  einklang lab PATH...
  einklang import --env DIR --kind KIND
  einklang keygen --out DIR [--name NAME]
  einklang approve FILE --key KEYFILE [--name REVIEWER]
  einklang unlock ENVDIR --id ID
  einklang journal head ENVDIR
  einklang journal verify ENVDIR|FILE [--expect-head HASH]

PATH is an environment folder (with environment.yaml) or a folder of them.
Common options:
  --secrets-dir DIR   secrets as files DIR/<zone>/<NAME> (or env EINKLANG_SECRET_<ZONE>_<NAME>)
  --keys-dir DIR      privateKeyFile & co. may also lie here (else: inside the repository only; or env EINKLANG_KEYS_DIR)
  --concurrency N     targets read/applied at once (default 32 / 16)
  --timeout SECONDS   per device operation (default 30)
  --quiet             no progress output
Exit codes: validate 0/1; plan 0 no changes, 2 changes, 1 error; apply 0/1; drift 0 none, 2 drift, 1 error.
`;

const options: ParseArgsConfig['options'] = {
  out: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  author: { type: 'string' },
  key: { type: 'string' },
  name: { type: 'string' },
  id: { type: 'string' },
  'secrets-dir': { type: 'string' },
  'keys-dir': { type: 'string' },
  'journal-key': { type: 'string' },
  'expect-head': { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  emergency: { type: 'boolean' },
  wait: { type: 'string' },
  env: { type: 'string' },
  kind: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`einklang: ${visible((e as Error).message)}\n\n${HELP}`);
    return 1;
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP);
    return values.help ? 0 : 1;
  }
  const [command, ...args] = positionals;
  try {
    return await runCommand(command, args, values);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`einklang: ${visible(e.message)}\n\n${HELP}`);
      return 1;
    }
    process.stderr.write(`einklang: error: ${visible((e as Error)?.message ?? String(e))}\n`);
    if (process.env.EINKLANG_DEBUG) process.stderr.write(String((e as Error)?.stack) + '\n');
    return 1;
  }
}

function reportMemory(): void {
  if (process.env.EINKLANG_REPORT_MEMORY) process.stderr.write(`einklang: peak-rss-bytes ${process.resourceUsage().maxRSS * 1024}\n`);
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`einklang: internal error: ${visible(String(e?.message ?? e))}\n`);
  if (process.env.EINKLANG_DEBUG) process.stderr.write(String(e?.stack) + '\n');
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    reportMemory();
    // Let stdout drain before exiting (large plans piped to a file).
    process.stdout.write('', () => process.exit(code));
  },
  (e) => {
    process.stderr.write(`einklang: internal error: ${visible(String(e?.message ?? e))}\n`);
    process.exit(1);
  },
);
