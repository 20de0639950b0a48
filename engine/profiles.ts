/**
 * Stage 2: expand profiles. An environment includes shared folders of
 * resources ("profiles", e.g. the standard school network) with parameters:
 *
 *   spec:
 *     profiles:
 *       - path: profiles/school-network     # relative to the environments root
 *         params: { schoolNumber: 12, coreHost: 127.0.0.1 }
 *
 * Inside a profile, `${param:NAME}` is replaced by the parameter's value. A
 * string that is exactly one placeholder takes the parameter's type (a number
 * stays a number); a placeholder inside a longer string is interpolated.
 * A profile folder may hold a `profile.yaml` (kind Profile) declaring its
 * parameters with defaults; using an undeclared or unset parameter is an error.
 *
 * Profile paths may not be absolute or contain `..`, and the folder they name
 * must resolve (symlinks followed) inside the repository: an environment must
 * not be able to pull files from outside it.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from './types.js';
import { type LoadedDocument, loadFile, positionOf } from './load.js';
import { displayPath, listManifests } from './discover.js';
import { pathProblem, type LocalRoots } from './local-files.js';

const PARAM = /\$\{param:([A-Za-z_][A-Za-z0-9_]*)\}/g;
const PARAM_EXACT = /^\$\{param:([A-Za-z_][A-Za-z0-9_]*)\}$/;
const SAFE_PROFILE_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\/?$/;

interface ProfileRef {
  path: unknown;
  params?: unknown;
}

export function expandProfiles(envDoc: LoadedDocument, root: string, roots: LocalRoots): { documents: LoadedDocument[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: LoadedDocument[] = [];
  const spec = (envDoc.value as { spec?: { profiles?: unknown } })?.spec;
  const profiles = spec?.profiles;
  if (!Array.isArray(profiles)) return { documents, diagnostics };
  profiles.forEach((ref: ProfileRef, i: number) => {
    if (!ref || typeof ref !== 'object' || typeof ref.path !== 'string') return; // schema reports it
    const pos = positionOf(envDoc, `/spec/profiles/${i}/path`);
    const p = ref.path;
    if (!SAFE_PROFILE_PATH.test(p) || p.split('/').some((seg) => seg === '..' || seg === '.')) {
      diagnostics.push({ severity: 'error', code: 'E_PROFILE_PATH', message: `profile path ${JSON.stringify(p)} must be relative to the environments root, without '..', '.', backslashes or absolute parts`, pos });
      return;
    }
    const dir = resolve(root, p);
    // The folder (or a symlink on the way to it) must not lead out of the repository.
    const problem = pathProblem(dir, roots, { keysDir: false });
    if (problem === 'does not exist' || (!problem && !statSync(dir).isDirectory())) {
      diagnostics.push({ severity: 'error', code: 'E_PROFILE_MISSING', message: `profile folder ${displayPath(dir)} does not exist`, pos });
      return;
    }
    if (problem) {
      diagnostics.push({ severity: 'error', code: 'E_PROFILE_PATH', message: `profile folder ${displayPath(dir)} ${problem}`, pos });
      return;
    }
    const given = (ref.params && typeof ref.params === 'object' ? ref.params : {}) as Record<string, unknown>;
    const loaded = listManifests(dir).map((f) => loadFile(f, displayPath(f)));
    const docs: LoadedDocument[] = [];
    for (const l of loaded) {
      diagnostics.push(...l.diagnostics);
      docs.push(...l.documents);
    }
    // Parameters: declared in profile.yaml (kind Profile), defaults applied.
    const declared = new Map<string, { default?: unknown; required?: boolean }>();
    const contentDocs: LoadedDocument[] = [];
    for (const d of docs) {
      const v = d.value as { kind?: unknown; spec?: { params?: Record<string, { default?: unknown; required?: boolean }> } };
      if (v && v.kind === 'Profile') {
        for (const [k, def] of Object.entries(v.spec?.params ?? {})) declared.set(k, def ?? {});
      } else contentDocs.push(d);
    }
    const values: Record<string, unknown> = {};
    for (const [k, def] of declared) if (def && 'default' in def) values[k] = def.default;
    Object.assign(values, given);
    if (declared.size) {
      for (const k of Object.keys(given)) {
        if (!declared.has(k)) diagnostics.push({ severity: 'error', code: 'E_PARAM_UNKNOWN', message: `profile ${p} declares no parameter ${JSON.stringify(k)}`, pos: positionOf(envDoc, `/spec/profiles/${i}/params/${k}`, true) });
      }
      for (const [k, def] of declared) {
        if (def?.required && !(k in given)) diagnostics.push({ severity: 'error', code: 'E_PARAM_MISSING', message: `profile ${p} needs parameter ${JSON.stringify(k)}`, pos });
      }
    }
    for (const d of contentDocs) {
      const value = substitute(d.value, '', (name, pointer) => {
        if (!(name in values)) {
          diagnostics.push({ severity: 'error', code: 'E_PARAM_UNDEFINED', message: `parameter ${JSON.stringify(name)} is not set by ${displayPath(envDoc.file)} (profile ${p})`, pos: positionOf(d, pointer) });
          return undefined;
        }
        return values[name];
      });
      documents.push({ ...d, value, profile: p } as LoadedDocument);
    }
  });
  return { documents, diagnostics };
}

function substitute(v: unknown, pointer: string, get: (name: string, pointer: string) => unknown): unknown {
  if (typeof v === 'string') {
    const exact = PARAM_EXACT.exec(v);
    if (exact) {
      const val = get(exact[1], pointer);
      return val === undefined ? v : val;
    }
    if (!v.includes('${param:')) return v;
    return v.replace(PARAM, (m, name: string) => {
      const val = get(name, pointer);
      return val === undefined ? m : typeof val === 'string' ? val : JSON.stringify(val);
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => substitute(x, `${pointer}/${i}`, get));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = substitute(x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, get);
    return out;
  }
  return v;
}
