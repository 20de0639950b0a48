/**
 * `--format json` of validate, plan and drift: stdout is JSON whatever
 * happens, so that CI can always parse it. A run that produced a plan prints
 * the plan; any run that stopped before (diagnostics, a failed validate-time
 * policy, a usage mistake, an error) prints
 * `{ "valid": false, "diagnostics": [...] }` with the diagnostics that text
 * mode prints on stderr as `file:line:col: error CODE: message`.
 */
import type { Diagnostic } from '../engine/types.js';
import { visibleJson } from '../engine/render/escape.js';

const JSON_VERBS = new Set(['validate', 'plan', 'drift']);

/** The diagnostics document (JSON text, one line ending). */
export function diagnosticsJson(valid: boolean, diagnostics: Diagnostic[]): string {
  return visibleJson(JSON.stringify({ valid, diagnostics }, null, 2)) + '\n';
}

/**
 * Does this command line ask validate, plan or drift for JSON? Read from argv
 * itself, because it is needed when the command line could not be parsed.
 */
export function wantsJson(argv: string[], verb: string | undefined): boolean {
  if (!verb || !JSON_VERBS.has(verb)) return false;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i];
    if (a === '--format=json' || a === '-fjson' || ((a === '--format' || a === '-f') && argv[i + 1] === 'json')) return true;
  }
  return false;
}

/** A failure without a position (usage mistake, run error) as the diagnostics document. */
export function failureJson(code: string, message: string): string {
  return diagnosticsJson(false, [{ severity: 'error', code, message }]);
}
