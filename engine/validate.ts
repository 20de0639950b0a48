/**
 * Stage 3: validate. Turns loaded documents into Resources: checks the
 * envelope (apiVersion, kind, metadata), the spec against the kind's JSON
 * Schema (ajv, precompiled at build time: schema-validators.ts), and the kind's own checks (values
 * that would be unsafe on the device). Every error maps back to file:line:col.
 */
import type { Diagnostic, KindDef, Resource, Zone } from './types.js';
import { type LoadedDocument, positionOf } from './load.js';
import { pointerSegment } from './diff.js';
import { specValidator } from './schema-validators.js';
import { schemaProblems } from './schema-errors.js';
import { closestMatch, didYouMean, meanHint, misspeltKey } from './suggest.js';

export const API_VERSION = 'einklang/v1';
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/;
const SECRET_REF = /\$\{secret:([^}]*)\}/g;
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const ENVELOPE = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_FIELDS = ['name', 'labels', 'annotations'];

export interface EnvironmentInput {
  /** Documents of the environment, environment.yaml's first. */
  documents: LoadedDocument[];
  envFile: string;
}

export interface ValidatedEnvironment {
  name: string;
  zone: Zone;
  environment: Resource;
  resources: Resource[];
}

/**
 * Validate one environment's documents. Returns its resources (only the
 * documents that passed), diagnostics for the rest, and the addresses the
 * failed documents would have had (`failed`): a reference to one of those is
 * not reported again as dangling (one root cause, one diagnostic). A
 * document of a misspelt kind counts under the kind it was meant to be.
 * `kindNames` are the kinds a misspelt one is matched against.
 */
export function validateEnvironment(
  input: EnvironmentInput,
  kinds: (kind: string) => KindDef | undefined,
  kindNames: readonly string[] = [],
): { env?: ValidatedEnvironment; diagnostics: Diagnostic[]; failed: string[] } {
  const failed: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const err = (code: string, message: string, doc: LoadedDocument, pointer: string, key = false) =>
    diagnostics.push({ severity: 'error', code, message, pos: positionOf(doc, pointer, key) });

  const envDocs = input.documents.filter((d) => (d.value as { kind?: unknown })?.kind === 'Environment');
  const envDoc = envDocs.find((d) => d.file === input.envFile);
  for (const d of envDocs) {
    if (d !== envDoc) err('E_ENVIRONMENT', 'an Environment may only be declared once, in environment.yaml', d, '/kind');
  }
  if (!envDoc) {
    diagnostics.push({ severity: 'error', code: 'E_ENVIRONMENT', message: 'environment.yaml must declare one document of kind Environment', pos: { file: input.envFile, line: 1, col: 1 } });
    return { diagnostics, failed };
  }
  const envValue = envDoc.value as { metadata?: { name?: unknown }; spec?: { zone?: unknown } };
  const envName = envValue?.metadata?.name;
  const zone = envValue?.spec?.zone;
  const resources: Resource[] = [];
  const validZone = zone === 'school' || zone === 'administration';

  for (const doc of input.documents) {
    const v = doc.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      err('E_DOCUMENT', 'a manifest document must be a mapping with apiVersion, kind, metadata and spec', doc, '');
      continue;
    }
    const o = v as Record<string, unknown>;
    const before = diagnostics.length;
    // A misspelt envelope key is one mistake: "unknown field knd; did you mean kind?", not also "kind must be a string".
    const meant = unknownKeys(o, ENVELOPE, (k, hint) => err('E_SCHEMA', `unknown top-level field ${JSON.stringify(k)}${hint}`, doc, '/' + pointerSegment(k), true));
    // DESIGN.md's pinned examples leave apiVersion out; a missing one means the current version, a different one is an error.
    if (o.apiVersion !== undefined && o.apiVersion !== API_VERSION) err('E_API_VERSION', `apiVersion must be ${JSON.stringify(API_VERSION)}`, doc, '/apiVersion');
    const def = typeof o.kind === 'string' ? kinds(o.kind) : undefined;
    const known = kindNames.filter((k) => k !== 'Profile');
    if (typeof o.kind !== 'string') {
      if (!meant.has('kind')) err('E_SCHEMA', 'kind must be a string', doc, '/kind', true);
    } else if (!def || def.kind === 'Profile') err('E_UNKNOWN_KIND', `unknown kind ${JSON.stringify(o.kind)}${didYouMean(o.kind, known, false)}`, doc, '/kind');
    const meta = o.metadata as { name?: unknown; labels?: unknown } | undefined;
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) {
      if (!meant.has('metadata')) err('E_SCHEMA', 'metadata must be a mapping with a name', doc, '/metadata', true);
    } else {
      const metaMeant = unknownKeys(meta, METADATA_FIELDS, (k, hint) => err('E_SCHEMA', `unknown field ${JSON.stringify(k)} in metadata${hint}`, doc, '/metadata/' + pointerSegment(k), true));
      if (typeof meta.name !== 'string') {
        if (!metaMeant.has('name')) err('E_SCHEMA', 'metadata.name must be a string', doc, '/metadata/name', true);
      } else if (!NAME_PATTERN.test(meta.name)) err('E_NAME', `metadata.name ${JSON.stringify(meta.name)} must be lowercase letters, digits, '.', '_' or '-' (at most 63)`, doc, '/metadata/name');
      if (meta.labels !== undefined) {
        if (!meta.labels || typeof meta.labels !== 'object' || Array.isArray(meta.labels)) err('E_SCHEMA', 'metadata.labels must be a mapping of strings', doc, '/metadata/labels');
        else
          for (const [k, lv] of Object.entries(meta.labels)) {
            if (!LABEL_KEY.test(k)) err('E_SCHEMA', `label key ${JSON.stringify(k)} is not valid`, doc, '/metadata/labels/' + pointerSegment(k), true);
            if (typeof lv !== 'string' || /[\u0000-\u001f]/.test(lv) || lv.length > 63) err('E_SCHEMA', `label ${JSON.stringify(k)} must be a string of at most 63 printable characters`, doc, '/metadata/labels/' + pointerSegment(k));
          }
      }
    }
    if (o.spec === undefined || o.spec === null || typeof o.spec !== 'object' || Array.isArray(o.spec)) {
      if (!(o.spec === undefined && meant.has('spec'))) err('E_SCHEMA', 'spec must be a mapping', doc, o.spec === undefined ? '' : '/spec', o.spec !== undefined);
    } else if (def) {
      const validate = specValidator(def.schema);
      if (!validate(o.spec)) for (const p of schemaProblems(def.schema, validate.errors ?? [], o.spec)) err('E_SCHEMA', p.message, doc, p.pointer, p.key);
      checkStrings(o.spec, '/spec', (pointer, message, code) => err(code, message, doc, pointer));
    }
    const ok = diagnostics.length === before;
    if (!ok && typeof envName === 'string') {
      // The address the document was meant to have, misspelt keys and kind read as what they were meant to be.
      const kind = o[meant.get('kind') ?? 'kind'];
      const name = (o[meant.get('metadata') ?? 'metadata'] as { name?: unknown } | undefined)?.name;
      if (typeof kind === 'string' && typeof name === 'string') failed.push(`${envName}/${def?.kind ?? closestMatch(kind, known) ?? kind}/${name}`);
    }
    if (!ok || !def || !validZone || typeof envName !== 'string') continue;
    const name = (meta as { name: string }).name;
    resources.push({
      address: `${envName}/${def.kind}/${name}`,
      env: envName,
      zone: zone as Zone,
      apiVersion: API_VERSION,
      kind: def.kind,
      name,
      labels: ((meta as { labels?: Record<string, string> }).labels ?? {}) as Record<string, string>,
      spec: o.spec,
      pos: positionOf(doc, '/kind'),
      positions: doc.positions,
      dir: doc.dir,
    });
  }
  const environment = resources.find((r) => r.kind === 'Environment');
  if (!environment) return { diagnostics, failed };
  return { env: { name: environment.name, zone: environment.spec.zone, environment, resources }, diagnostics, failed };
}

/**
 * Reports each key of `obj` that is not in `allowed`, with the allowed key
 * (not yet written) it was probably meant to be; returns those meant keys, so
 * (to the key written), so that "kind is missing" is not reported on top of
 * "unknown field knd".
 */
function unknownKeys(obj: object, allowed: readonly string[], report: (key: string, hint: string) => void): Map<string, string> {
  const meant = new Map<string, string>();
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const m = misspeltKey(k, allowed, obj);
    if (m !== undefined) meant.set(m, k);
    report(k, meanHint(m));
  }
  return meant;
}

/**
 * Checks every string in a spec: secret references must be well formed, and
 * the plan's secret placeholder syntax is reserved (so a literal can never be
 * mistaken for a redacted secret when a plan is applied).
 */
function checkStrings(v: unknown, pointer: string, report: (pointer: string, message: string, code: string) => void): void {
  if (typeof v === 'string') {
    if (v.includes('<secret:')) report(pointer, "'<secret:' is reserved for redacted secrets in plans; write secrets as ${secret:NAME}", 'E_RESERVED');
    for (const m of v.matchAll(SECRET_REF)) {
      if (!SECRET_NAME.test(m[1])) report(pointer, `secret name ${JSON.stringify(m[1])} must be upper-case letters, digits and '_'`, 'E_SECRET_NAME');
    }
    return;
  }
  if (Array.isArray(v)) v.forEach((x, i) => checkStrings(x, `${pointer}/${i}`, report));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkStrings(x, `${pointer}/${pointerSegment(k)}`, report);
}
