/**
 * Windows-only kinds of the servers area, served by the winrm driver:
 *
 *   WindowsFeature  id: feature name (Web-Server)       state: name
 *     present = installed (live object exists), absent = not installed.
 *   RegistryValue   id: `<path>\<name>`                  state: path, name, type, data
 *     path `HKLM:\SOFTWARE\...` (hives HKLM HKCU HKCR HKU HKCC), name '' for the
 *     key's default value; data by type: String/ExpandString a string,
 *     DWord a number 0..4294967295, QWord a decimal string (64 bits do not fit
 *     a JSON number), MultiString a list of strings, Binary lower-case hex.
 */
import { posOf } from '../../../engine/positions.js';
import type { DesiredObject, Diagnostic, ExpandContext, KindDef, Resource } from '../../../engine/types.js';
import { desiredObject, objectName, serverAddress, serverOs, unsafeReason } from '../kinds.js';

export const REGISTRY_TYPES = ['String', 'ExpandString', 'DWord', 'QWord', 'MultiString', 'Binary'] as const;
export type RegistryType = (typeof REGISTRY_TYPES)[number];

const HIVES: Record<string, string> = {
  HKLM: 'HKLM',
  HKEY_LOCAL_MACHINE: 'HKLM',
  HKCU: 'HKCU',
  HKEY_CURRENT_USER: 'HKCU',
  HKCR: 'HKCR',
  HKEY_CLASSES_ROOT: 'HKCR',
  HKU: 'HKU',
  HKEY_USERS: 'HKU',
  HKCC: 'HKCC',
  HKEY_CURRENT_CONFIG: 'HKCC',
};

export const FEATURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

function diag(res: Resource, pointer: string, code: string, message: string): Diagnostic {
  return { severity: 'error', code, message: `${res.address}: ${message}`, pos: posOf(res, pointer) };
}

/** `HKEY_LOCAL_MACHINE\X`, `hklm:\X`, `HKLM\X` -> `HKLM:\X`; null if the hive is unknown. */
export function canonicalRegistryPath(p: string): string | null {
  const m = /^([A-Za-z_]+):?\\(.*)$/.exec(p);
  if (!m) return null;
  const hive = HIVES[m[1].toUpperCase()];
  return hive ? `${hive}:\\${m[2]}` : null;
}

export function registryPathProblem(p: string): string | null {
  const unsafe = unsafeReason(p);
  if (unsafe) return unsafe;
  const c = canonicalRegistryPath(p);
  if (!c) return 'must start with a hive: HKLM:\\, HKCU:\\, HKCR:\\, HKU:\\ or HKCC:\\ (e.g. HKLM:\\SOFTWARE\\Vendor)';
  const rest = c.slice(c.indexOf('\\') + 1);
  if (rest === '') return 'must name a key below the hive';
  const segs = rest.split('\\');
  if (segs.some((s) => s === '')) return 'must not contain empty key names (\\\\ or a trailing \\)';
  if (segs.some((s) => s.length > 255)) return 'has a key name longer than 255 characters';
  return null;
}

/** Id of a registry value: canonical path, backslash, value name. */
export function registryId(path: string, name: string): string {
  return `${canonicalRegistryPath(path) ?? path}\\${name}`;
}

/** Why `data` does not fit `type`, or null. */
export function registryDataProblem(type: string, data: unknown): string | null {
  switch (type) {
    case 'String':
    case 'ExpandString':
      return typeof data === 'string' ? (data.includes('\u0000') ? 'must not contain NUL' : null) : 'must be a string';
    case 'DWord': {
      const n = toBigInt(data);
      return n !== null && n >= 0n && n <= 0xffffffffn ? null : 'must be an integer 0..4294967295 (or a "0x..." hex string)';
    }
    case 'QWord': {
      const n = toBigInt(data);
      return n !== null && n >= 0n && n <= 0xffffffffffffffffn ? null : 'must be an integer 0..18446744073709551615 (decimal or "0x..." string)';
    }
    case 'MultiString':
      return Array.isArray(data) && data.every((s) => typeof s === 'string' && s !== '' && !s.includes('\u0000'))
        ? null
        : 'must be a list of non-empty strings';
    case 'Binary':
      return typeof data === 'string' && /^([0-9A-Fa-f]{2}[\s:,-]?)*$/.test(data.trim()) ? null : 'must be hex bytes such as "01 ff 3a" or "01ff3a"';
    default:
      return `unknown type ${type}`;
  }
}

function toBigInt(v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (typeof v === 'string' && /^(0x[0-9A-Fa-f]+|[0-9]+)$/.test(v.trim())) return BigInt(v.trim());
  return null;
}

/** Canonical data for comparison: DWord number, QWord decimal string, Binary lower-case hex. */
export function normalizeRegistryData(type: unknown, data: unknown): unknown {
  if (type === 'DWord') {
    const n = toBigInt(data);
    return n === null ? data : Number(n);
  }
  if (type === 'QWord') {
    const n = toBigInt(data);
    return n === null ? data : n.toString();
  }
  if (type === 'Binary' && typeof data === 'string') return data.replace(/[\s:,-]/g, '').toLowerCase();
  return data;
}

// ------------------------------------------------------------------ checks

function requireWindows(res: Resource, out: Diagnostic[], byAddress: Map<string, Resource>): void {
  const os = serverOs(res, byAddress);
  if (os && os !== 'windows') out.push(diag(res, '/spec/server', 'E_UNSUPPORTED_OS', `${res.kind} needs a Windows server; ${res.spec?.server} has os: ${os}`));
  const srv = byAddress.get(serverAddress(res));
  if (srv && srv.kind !== 'Server') out.push(diag(res, '/spec/server', 'E_REF_KIND', `${serverAddress(res)} is not a Server`));
}

function idOf(res: Resource): string | undefined {
  if (res.kind === 'WindowsFeature') return objectName(res);
  if (res.kind === 'RegistryValue' && typeof res.spec?.path === 'string' && typeof res.spec?.name === 'string') return registryId(res.spec.path, res.spec.name);
  return undefined;
}

/** Windows compares these names case-insensitively, so duplicates are found that way too. */
function duplicates(res: Resource, byAddress: Map<string, Resource>): string[] {
  const id = idOf(res)?.toLowerCase();
  if (id === undefined) return [];
  const out: string[] = [];
  for (const r of byAddress.values()) {
    if (r.address !== res.address && r.kind === res.kind && r.env === res.env && r.spec?.server === res.spec?.server && idOf(r)?.toLowerCase() === id) out.push(r.address);
  }
  return out;
}

function validateFeature(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[] {
  const out: Diagnostic[] = [];
  requireWindows(res, out, ctx.byAddress);
  const name = objectName(res);
  const ptr = res.spec?.name !== undefined ? '/spec/name' : '/metadata/name';
  const problem = unsafeReason(name) ?? (FEATURE_NAME.test(name) ? null : 'is not a valid feature name (letters, digits, . _ -)');
  if (problem) out.push(diag(res, ptr, problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_NAME', `feature name ${JSON.stringify(name)} ${problem}`));
  const dup = duplicates(res, ctx.byAddress);
  if (dup.length) out.push(diag(res, ptr, 'E_DUPLICATE_OBJECT', `WindowsFeature ${JSON.stringify(name)} on server ${res.spec?.server} is also declared by ${dup.join(', ')}`));
  return out;
}

function validateRegistry(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[] {
  const out: Diagnostic[] = [];
  requireWindows(res, out, ctx.byAddress);
  const s = res.spec ?? {};
  if (typeof s.path === 'string') {
    const problem = registryPathProblem(s.path);
    if (problem) out.push(diag(res, '/spec/path', problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_PATH', `registry path ${JSON.stringify(s.path)} ${problem}`));
  }
  if (typeof s.name === 'string') {
    const problem = /[\u0000-\u001f\u007f]/.test(s.name) ? 'contains a control character' : s.name.includes('\\') ? 'must not contain a backslash' : s.name.length > 16383 ? 'is longer than 16383 characters' : null;
    if (problem) out.push(diag(res, '/spec/name', problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_NAME', `value name ${JSON.stringify(s.name)} ${problem}`));
  }
  if (s.ensure !== 'absent') {
    if (s.type === undefined) out.push(diag(res, '/spec', 'E_REQUIRED', 'type is required unless ensure: absent'));
    if (s.data === undefined) out.push(diag(res, '/spec', 'E_REQUIRED', 'data is required unless ensure: absent'));
    if (typeof s.type === 'string' && s.data !== undefined) {
      const problem = registryDataProblem(s.type, s.data);
      if (problem) out.push(diag(res, '/spec/data', 'E_INVALID_VALUE', `data for type ${s.type} ${problem}`));
    }
  }
  const dup = duplicates(res, ctx.byAddress);
  if (dup.length) out.push(diag(res, '/spec/path', 'E_DUPLICATE_OBJECT', `RegistryValue ${JSON.stringify(idOf(res))} on server ${s.server} is also declared by ${dup.join(', ')}`));
  return out;
}

// --------------------------------------------------------------- expansion

function expandFeature(res: Resource, _ctx: ExpandContext): DesiredObject[] {
  const name = objectName(res);
  return [desiredObject(res, name, { name })];
}

function expandRegistry(res: Resource, _ctx: ExpandContext): DesiredObject[] {
  const s = res.spec ?? {};
  const path = canonicalRegistryPath(String(s.path)) ?? String(s.path);
  const name = String(s.name ?? '');
  const state: Record<string, unknown> = { path, name };
  if (s.type !== undefined) state.type = s.type;
  if (s.data !== undefined) state.data = s.data;
  return [desiredObject(res, registryId(path, name), state)];
}

function serverRefs(res: Resource): { pointer: string; kind: string; name: string }[] {
  return typeof res.spec?.server === 'string' ? [{ pointer: '/spec/server', kind: 'Server', name: res.spec.server }] : [];
}

export const windowsFeatureKind: KindDef = {
  kind: 'WindowsFeature',
  area: 'servers',
  schema: 'servers/WindowsFeature.schema.json',
  references: serverRefs,
  validate: validateFeature,
  expand: expandFeature,
  normalize: (s) => s,
};

export const registryValueKind: KindDef = {
  kind: 'RegistryValue',
  area: 'servers',
  schema: 'servers/RegistryValue.schema.json',
  references: serverRefs,
  validate: validateRegistry,
  expand: expandRegistry,
  normalize: (s) => {
    if (typeof s.path === 'string') s.path = canonicalRegistryPath(s.path) ?? s.path;
    if (s.data !== undefined) s.data = normalizeRegistryData(s.type, s.data);
    return s;
  },
};

export const winrmKinds: KindDef[] = [windowsFeatureKind, registryValueKind];
