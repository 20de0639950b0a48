/**
 * Stage 3: validate. Turns loaded documents into Resources: checks the
 * envelope (apiVersion, kind, metadata), the spec against the kind's JSON
 * Schema (ajv, precompiled at build time: schema-validators.ts), and the kind's own checks (values
 * that would be unsafe on the device). Every error maps back to file:line:col.
 */
import type { ErrorObject } from 'ajv';
import type { Diagnostic, KindDef, Resource, Zone } from './types.js';
import { type LoadedDocument, positionOf } from './load.js';
import { pointerSegment } from './diff.js';
import { specValidator } from './schema-validators.js';

export const API_VERSION = 'einklang/v1';
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/;
const SECRET_REF = /\$\{secret:([^}]*)\}/g;
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

function ajvMessage(e: ErrorObject): { pointer: string; message: string; key: boolean } {
  const base = '/spec' + e.instancePath;
  const field = e.instancePath ? e.instancePath.split('/').slice(1).join('.') : 'spec';
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return { pointer: base + '/' + pointerSegment(extra), message: `unknown field ${JSON.stringify(extra)} in ${field}`, key: true };
    }
    case 'required':
      return { pointer: base, message: `${field} is missing required field ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}`, key: true };
    case 'enum':
      return { pointer: base, message: `${field} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}`, key: false };
    case 'type':
      return { pointer: base, message: `${field} must be of type ${(e.params as { type: string }).type}`, key: false };
    default:
      return { pointer: base, message: `${field} ${e.message ?? 'is invalid'}`, key: false };
  }
}

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
 * documents that passed) and diagnostics for the rest.
 */
export function validateEnvironment(
  input: EnvironmentInput,
  kinds: (kind: string) => KindDef | undefined,
): { env?: ValidatedEnvironment; diagnostics: Diagnostic[] } {
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
    return { diagnostics };
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
    for (const k of Object.keys(o)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) err('E_SCHEMA', `unknown top-level field ${JSON.stringify(k)}`, doc, '/' + pointerSegment(k), true);
    }
    // DESIGN.md's pinned examples leave apiVersion out; a missing one means the current version, a different one is an error.
    if (o.apiVersion !== undefined && o.apiVersion !== API_VERSION) err('E_API_VERSION', `apiVersion must be ${JSON.stringify(API_VERSION)}`, doc, '/apiVersion');
    const def = typeof o.kind === 'string' ? kinds(o.kind) : undefined;
    if (typeof o.kind !== 'string') err('E_SCHEMA', 'kind must be a string', doc, '/kind', true);
    else if (!def || def.kind === 'Profile') err('E_UNKNOWN_KIND', `unknown kind ${JSON.stringify(o.kind)}`, doc, '/kind');
    const meta = o.metadata as { name?: unknown; labels?: unknown } | undefined;
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) err('E_SCHEMA', 'metadata must be a mapping with a name', doc, '/metadata', true);
    else {
      for (const k of Object.keys(meta)) if (!['name', 'labels', 'annotations'].includes(k)) err('E_SCHEMA', `unknown field ${JSON.stringify(k)} in metadata`, doc, '/metadata/' + pointerSegment(k), true);
      if (typeof meta.name !== 'string') err('E_SCHEMA', 'metadata.name must be a string', doc, '/metadata/name', true);
      else if (!NAME_PATTERN.test(meta.name)) err('E_NAME', `metadata.name ${JSON.stringify(meta.name)} must be lowercase letters, digits, '.', '_' or '-' (at most 63)`, doc, '/metadata/name');
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
      err('E_SCHEMA', 'spec must be a mapping', doc, o.spec === undefined ? '' : '/spec', o.spec !== undefined);
    } else if (def) {
      const validate = specValidator(def.schema);
      if (!validate(o.spec)) {
        for (const e of validate.errors ?? []) {
          if (e.keyword === 'if') continue;
          const m = ajvMessage(e);
          err('E_SCHEMA', m.message, doc, m.pointer, m.key);
        }
      }
      checkStrings(o.spec, '/spec', (pointer, message, code) => err(code, message, doc, pointer));
    }
    if (diagnostics.length > before || !def || !validZone || typeof envName !== 'string') continue;
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
  if (!environment) return { diagnostics };
  return { env: { name: environment.name, zone: environment.spec.zone, environment, resources }, diagnostics };
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
