/**
 * The command line's grammar and its help text, in one table: every verb
 * with its synopsis, what it does, the options it takes and its exit codes.
 * `parseCommandLine` reads argv against that table, so an option is accepted
 * exactly where its help says it is, and a mistake is answered with that
 * verb's usage instead of Node's parser message.
 *
 * Adding an option: add it to OPTIONS and to the `options` of each verb that
 * takes it; the parser and every help page follow.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder for the value in help text (string options). */
  value?: string;
  help: string;
}

export const OPTIONS: Record<string, OptionSpec> = {
  out: { type: 'string', short: 'o', value: 'FILE', help: 'write the plan file (JSON) to FILE' },
  format: { type: 'string', short: 'f', value: 'FORMAT', help: 'output format' },
  author: { type: 'string', value: 'WHO', help: "the plan's author (default: the CI's user variables, else git's user.email); never counted as an approver" },
  key: { type: 'string', value: 'KEYFILE', help: "the reviewer's private key (from einklang keygen)" },
  name: { type: 'string', value: 'NAME', help: 'name' },
  id: { type: 'string', value: 'ID', help: 'the lock id, as printed by the refused apply' },
  'secrets-dir': { type: 'string', value: 'DIR', help: 'read secrets from files DIR/<zone>/<NAME> (default: env EINKLANG_SECRETS_DIR, else env EINKLANG_SECRET_<ZONE>_<NAME>)' },
  'trusted-ref': { type: 'string', value: 'REF', help: "the git ref whose approval rules, reviewers, management networks and policies count (CI: the merge request's target branch); default origin/HEAD, else main or master; outside git the working tree" },
  'keys-dir': { type: 'string', value: 'DIR', help: 'privateKeyFile and other connection files may also lie in DIR (default: env EINKLANG_KEYS_DIR); otherwise they must be inside the repository' },
  'journal-key': { type: 'string', value: 'KEYFILE', help: "sign the journal's entries with this Ed25519 key (einklang keygen); required when the environment declares journalSigners" },
  'expect-head': { type: 'string', value: 'HASH', help: 'fail unless the journal still contains this entry hash (an earlier `journal head`): detects a cut-off tail' },
  concurrency: { type: 'string', value: 'N', help: 'targets handled at once, 1-1024' },
  timeout: { type: 'string', value: 'SECONDS', help: 'per device operation, 1-1024 (default 30)' },
  emergency: { type: 'boolean', help: 'apply outside the change windows; needs one approval more and is marked in the journal' },
  wait: { type: 'string', value: 'SECONDS', help: 'wait up to SECONDS for a locked environment instead of failing at once' },
  env: { type: 'string', value: 'DIR', help: 'the environment folder to write manifests into' },
  kind: { type: 'string', value: 'KIND', help: 'the kind of live objects to import (e.g. Vlan)' },
  'require-approvals': { type: 'boolean', help: 'exit 1 unless the plan carries every approval it needs under the current manifests (signatures, groups, four eyes, extra approvals; change windows are checked by apply)' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress output' },
  'no-color': { type: 'boolean', help: 'no colour in output (as does the environment variable NO_COLOR)' },
  help: { type: 'boolean', short: 'h', help: "print this verb's usage" },
  version: { type: 'boolean', help: 'print the version' },
};

/** Options every verb takes. */
const GLOBAL = ['quiet', 'no-color', 'help'];

export interface VerbSpec {
  verb: string;
  synopsis: string[];
  summary: string;
  /** Paragraphs after the synopsis. */
  details: string[];
  options: string[];
  /** Per-verb wording of options whose meaning depends on the verb. */
  optionHelp?: Record<string, string>;
  exit: string;
}

const FORMAT_PLAN = 'text (default), json (the plan file) or markdown (for a merge-request comment)';
const PATHS = 'PATH is an environment folder (with environment.yaml) or a folder of them.';

export const VERBS: VerbSpec[] = [
  {
    verb: 'validate',
    synopsis: ['validate PATH... [--format text|json]'],
    summary: 'parse, check schemas, references and static policies; touches no device',
    details: [PATHS, 'Diagnostics are printed file:line:col: error CODE: message.'],
    options: ['format'],
    optionHelp: { format: 'text (default) or json' },
    exit: '0 valid, 1 diagnostics',
  },
  {
    verb: 'plan',
    synopsis: ['plan PATH... [--out FILE] [--format text|json|markdown] [--author WHO]'],
    summary: 'read the live state, compute the changes, check the policies',
    details: [PATHS + ' All environments of one plan belong to one zone.', 'Without --out the plan is only shown; apply needs the file.'],
    options: ['out', 'format', 'author', 'trusted-ref', 'secrets-dir', 'keys-dir', 'concurrency', 'timeout'],
    optionHelp: { format: FORMAT_PLAN, concurrency: 'targets read at once, 1-1024 (default 32)' },
    exit: '0 no changes, 2 changes, 1 error or mandatory policy violation',
  },
  {
    verb: 'show',
    synopsis: ['show FILE [--format text|json|markdown] [--require-approvals]'],
    summary: 'render a saved plan',
    details: [],
    options: ['format', 'require-approvals', 'trusted-ref'],
    optionHelp: { format: FORMAT_PLAN },
    exit: '0 shown (and, with --require-approvals, fully approved), 1 unreadable plan or approvals missing',
  },
  {
    verb: 'approve',
    synopsis: ['approve FILE --key KEYFILE [--name REVIEWER]'],
    summary: "sign the plan's hash as a reviewer (four eyes); the signature is added to FILE",
    details: ['Sign on your own machine, with your own key: a key in CI can be used by anyone who can start a pipeline.'],
    options: ['key', 'name', 'trusted-ref'],
    optionHelp: { name: 'the reviewer name to record (default: the Reviewer resource with this public key)' },
    exit: '0 signed, 1 refused',
  },
  {
    verb: 'apply',
    synopsis: ['apply FILE [--wait SECONDS] [--emergency]'],
    summary: 'apply exactly that plan, after checking its hash, approvals, staleness, change window and lock',
    details: ['Nothing reaches a device unless every check passes; a stale plan (the live state moved) is refused: re-plan.'],
    options: ['wait', 'emergency', 'journal-key', 'trusted-ref', 'secrets-dir', 'keys-dir', 'concurrency', 'timeout'],
    optionHelp: { concurrency: 'targets applied at once, 1-1024 (default 16)' },
    exit: '0 all applied, 1 anything failed or refused',
  },
  {
    verb: 'drift',
    synopsis: ['drift PATH... [--out FILE] [--format text|json|markdown]'],
    summary: 'report live state that differs from the manifests, including unmanaged objects',
    details: [PATHS, 'The report has the plan file format; --out writes it as JSON.'],
    options: ['out', 'format', 'trusted-ref', 'secrets-dir', 'keys-dir', 'concurrency', 'timeout'],
    optionHelp: { out: 'write the drift report (plan file format, JSON) to FILE', format: FORMAT_PLAN, concurrency: 'targets read at once, 1-1024 (default 32)' },
    exit: '0 no drift, 2 drift (changes or unmanaged objects), 1 error',
  },
  {
    verb: 'import',
    synopsis: ['import --env DIR --kind KIND'],
    summary: 'write manifests for live objects that no manifest declares yet',
    details: [],
    options: ['env', 'kind', 'secrets-dir', 'keys-dir'],
    exit: '0, 1',
  },
  {
    verb: 'lab',
    synopsis: ['lab PATH...'],
    summary: 'run a simulator for every target of those environments whose host is loopback',
    details: ['Prints each simulator\'s address with the identities it presents, as the connection fields that pin them (hostKeyFingerprint, tlsFingerprint), then "ready"; runs until SIGINT/SIGTERM.'],
    options: ['secrets-dir'],
    exit: '0 stopped, 1 could not start',
  },
  {
    verb: 'keygen',
    synopsis: ['keygen --out DIR [--name NAME]'],
    summary: "make a reviewer's Ed25519 key pair and print the Reviewer resource to commit",
    details: [],
    options: ['out', 'name'],
    optionHelp: { out: 'folder for NAME.key (private, mode 0600) and NAME.pub', name: 'the reviewer name (default reviewer)' },
    exit: '0, 1',
  },
  {
    verb: 'unlock',
    synopsis: ['unlock ENVDIR --id ID'],
    summary: "break an environment's stale lock (a refused apply prints the exact command)",
    details: ['ENVDIR is the environment folder; the id makes sure you break the lock you looked at.'],
    options: ['id'],
    exit: '0 unlocked, 1 not locked or another id',
  },
  {
    verb: 'journal',
    synopsis: ['journal head [ENVDIR]', 'journal verify [FILE|ENVDIR] [--expect-head HASH]'],
    summary: "print the head hash of an environment's audit journal, or check its hash chain and signatures",
    details: [
      'Without an argument, the journal of the current folder.',
      'Keep the head printed after an apply (CI artifact); `verify --expect-head` of it later fails if entries were cut off the end.',
    ],
    options: ['expect-head', 'trusted-ref'],
    exit: '0 intact, 1 broken',
  },
  {
    verb: 'help',
    synopsis: ['help [VERB]'],
    summary: "print a verb's usage (also: einklang VERB --help)",
    details: [],
    options: [],
    exit: '0, 1 unknown verb',
  },
];

const verbByName = new Map(VERBS.map((v) => [v.verb, v]));

export function verbSpec(verb: string): VerbSpec | undefined {
  return verbByName.get(verb);
}

function optionLine(name: string, help: string): string {
  const o = OPTIONS[name];
  const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
  return `  ${flag.padEnd(26)}${flag.length > 25 ? `\n  ${''.padEnd(26)}` : ''}${help}`;
}

/** `einklang help VERB` / `einklang VERB --help`. */
export function verbHelp(spec: VerbSpec): string {
  const out = spec.synopsis.map((s, i) => `${i ? '       ' : 'Usage: '}einklang ${s}`);
  out.push('', spec.summary.charAt(0).toUpperCase() + spec.summary.slice(1) + '.');
  for (const d of spec.details) out.push('', d);
  out.push('', 'Options:');
  for (const name of [...spec.options, ...GLOBAL]) out.push(optionLine(name, spec.optionHelp?.[name] ?? OPTIONS[name].help));
  out.push('', `Exit codes: ${spec.exit}.`);
  return out.join('\n') + '\n';
}

/** `einklang help` / `einklang --help`. */
export function generalHelp(): string {
  const out = ['einklang — desired state for the IT of schools and administration', '', 'Usage:'];
  for (const v of VERBS) for (const s of v.synopsis) out.push(`  einklang ${s}`);
  out.push('', 'Verbs:');
  for (const v of VERBS) out.push(`  ${v.verb.padEnd(10)}${v.summary}`);
  out.push('', PATHS, 'Options for every verb:');
  for (const name of GLOBAL) out.push(optionLine(name, OPTIONS[name].help));
  out.push(optionLine('version', OPTIONS.version.help));
  out.push('', "Run 'einklang help VERB' for a verb's options and exit codes.");
  return out.join('\n') + '\n';
}

/** The answer to a usage mistake: what was wrong, the verb's synopsis, where to read more. */
export function usageError(message: string, verb?: string): string {
  const spec = verb ? verbSpec(verb) : undefined;
  if (!spec) return `einklang: ${message}\nRun 'einklang help' for the verbs.\n`;
  const synopsis = spec.synopsis.map((s) => `  einklang ${s}`).join('\n');
  return `einklang ${spec.verb}: ${message}\nUsage:\n${synopsis}\nRun 'einklang help ${spec.verb}' for its options.\n`;
}

export type Opts = Record<string, string | boolean | undefined>;

export type CommandLine =
  | { kind: 'run'; verb: string; args: string[]; opts: Opts }
  | { kind: 'print'; text: string; code: number; toStderr?: boolean }
  | { kind: 'error'; message: string; verb?: string };

/**
 * Read argv against the table. Options may come before or after the verb
 * (`einklang --quiet plan ...`); `--` ends the options.
 */
export function parseCommandLine(argv: string[], version: string): CommandLine {
  const config = Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
  // strict: false, so that every mistake below gets our wording, not the parser's.
  const { tokens } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: false, tokens: true });
  const positionals = tokens.filter((t) => t.kind === 'positional').map((t) => (t as { value: string }).value);
  const verb = positionals[0];
  const spec = verb === undefined ? undefined : verbSpec(verb);
  const opts: Opts = {};
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const o = OPTIONS[t.name];
    if (!o) return { kind: 'error', message: `unknown option ${t.rawName}`, verb: spec?.verb };
    if (o.type === 'boolean' && t.value !== undefined) return { kind: 'error', message: `${t.rawName} takes no value`, verb: spec?.verb };
    if (o.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value !== '-'))) {
      return { kind: 'error', message: `${t.rawName} needs a value: --${t.name} ${o.value}`, verb: spec?.verb };
    }
    opts[t.name] = o.type === 'boolean' ? true : t.value;
  }
  if (opts.version) return { kind: 'print', text: `einklang ${version}\n`, code: 0 };
  if (verb === undefined) return opts.help ? { kind: 'print', text: generalHelp(), code: 0 } : { kind: 'print', text: generalHelp(), code: 1, toStderr: true };
  if (!spec) return { kind: 'error', message: `unknown verb ${JSON.stringify(verb)}` };
  if (opts.help) return { kind: 'print', text: verbHelp(spec), code: 0 };
  if (spec.verb === 'help') {
    const about = positionals[1];
    if (about === undefined) return { kind: 'print', text: generalHelp(), code: 0 };
    const target = verbSpec(about);
    if (!target || positionals.length > 2) return { kind: 'error', message: `help takes one verb, one of: ${VERBS.map((v) => v.verb).join(', ')}`, verb: 'help' };
    return { kind: 'print', text: verbHelp(target), code: 0 };
  }
  for (const name of Object.keys(opts)) {
    if (name !== 'version' && !spec.options.includes(name) && !GLOBAL.includes(name)) return { kind: 'error', message: `--${name} is not an option of ${spec.verb}`, verb: spec.verb };
  }
  return { kind: 'run', verb: spec.verb, args: positionals.slice(1), opts };
}
