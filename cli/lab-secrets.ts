/**
 * The demo's lab secrets file (environments/demo-city/lab-secrets.env): the
 * same file a shell sources (`set -a; . lab-secrets.env; set +a`) and the
 * quickstart reads. Read tolerantly, as a shell would take it: `NAME=value`
 * or `export NAME=value`, comments and blank lines, values in single or
 * double quotes or bare. Only `EINKLANG_SECRET_*` names are taken; a line
 * that is none of this is reported (by line number, never its value) and
 * skipped, so one bad line never hides the others.
 */
import { readFileSync } from 'node:fs';

export interface LabSecrets {
  values: Record<string, string>;
  /** `line N: ...` for each line that was skipped. */
  skipped: string[];
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function unquote(raw: string): string {
  const v = raw.trim();
  if (v.length >= 2 && v[0] === "'" && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v[0] === '"' && v.endsWith('"')) return v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
  return v.replace(/\s+#.*$/, '');
}

export function readLabSecrets(file: string): LabSecrets {
  const values: Record<string, string> = {};
  const skipped: string[] = [];
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((text, i) => {
      if (!text.trim() || text.trim().startsWith('#')) return;
      const m = LINE.exec(text);
      if (!m) skipped.push(`line ${i + 1}: not NAME=value`);
      else if (!m[1].startsWith('EINKLANG_SECRET_')) skipped.push(`line ${i + 1}: ${m[1]} is not an EINKLANG_SECRET_<ZONE>_<NAME>`);
      else values[m[1]] = unquote(m[2]);
    });
  return { values, skipped };
}
