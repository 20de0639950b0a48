/**
 * Resource kinds of the servers area: Server (a target) and the objects that
 * live on one: File, Directory, User, Group, Package, Service.
 *
 * Shared by every server driver (ssh for Linux, winrm for Windows), so the
 * checks here are OS-aware: they look up the referenced Server and apply the
 * rules of its `spec.os`. They are the first line of defence against shell
 * injection; drivers never interpolate manifest values into commands anyway,
 * but a path or name with a newline, `;`, `$(` or a backtick never gets that far.
 *
 * State field names (what `expand` puts into DesiredObject.state and what
 * drivers report as LiveObject.state):
 *   File:      content (UTF-8 text) | contentBase64 (other bytes), mode ("0644"), owner, group
 *   Directory: mode, owner, group
 *   User:      uid, group (primary group name), groups (supplementary, sorted), shell, home, comment
 *   Group:     gid, members (sorted)
 *   Package:   version
 *   Service:   enabled (boolean), state ("running" | "stopped")
 */
import { posOf } from '../../engine/positions.js';
import type { DesiredObject, Diagnostic, ExpandContext, KindDef, Resource } from '../../engine/types.js';

export type ServerOs = 'linux' | 'windows';

// ------------------------------------------------------------------ helpers

function diag(res: Resource, pointer: string, code: string, message: string): Diagnostic {
  return { severity: 'error', code, message: `${res.address}: ${message}`, pos: posOf(res, pointer) };
}

export function serverAddress(res: Resource): string {
  return `${res.env}/Server/${res.spec?.server}`;
}

/** The OS of the Server a resource lives on, or undefined if the Server is unknown (the engine reports the dangling reference). */
export function serverOs(res: Resource, byAddress: Map<string, Resource>): ServerOs | undefined {
  if (res.kind === 'Server') return res.spec?.os;
  const srv = byAddress.get(serverAddress(res));
  const os = srv?.spec?.os;
  return os === 'linux' || os === 'windows' ? os : undefined;
}

/** Name of a User/Group/Package/Service on the server: spec.name, else metadata.name. */
export function objectName(res: Resource): string {
  return typeof res.spec?.name === 'string' ? res.spec.name : res.name;
}

// Control characters (C0, DEL, C1) never belong in a path or name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Shell metacharacter sequences refused in paths and names on every OS. */
const SHELL_META: [RegExp, string][] = [
  [/;/, "';'"],
  [/`/, 'a backtick'],
  [/\$\(/, "'$('"],
  [/\$\{/, "'${'"],
  [/\|/, "'|'"],
  [/&/, "'&'"],
  [/[<>]/, "'<' or '>'"],
];

/** Why a value is unsafe in a command context (control chars, shell metacharacters), or null. */
export function unsafeReason(value: string): string | null {
  if (value.includes('\n') || value.includes('\r')) return 'contains a newline';
  if (value.includes('\u0000')) return 'contains a NUL byte';
  if (CONTROL.test(value)) return 'contains a control character';
  for (const [re, what] of SHELL_META) if (re.test(value)) return `contains ${what}`;
  return null;
}

/** Why a Linux path is not acceptable, or null. */
export function linuxPathProblem(p: string): string | null {
  const unsafe = unsafeReason(p);
  if (unsafe) return unsafe;
  if (!p.startsWith('/')) return 'must be an absolute path (start with /)';
  if (p.split('/').some((seg) => seg === '..' || seg === '.')) return "must not contain '.' or '..' segments";
  if (p.length > 1 && p.endsWith('/')) return 'must not end with /';
  if (p.includes('//')) return "must not contain '//'";
  if (p.split('/').some((seg) => seg.length > 255)) return 'has a path segment longer than 255 bytes';
  return null;
}

/** DOS device names Windows reserves in every folder, with or without an extension (`NUL.txt` is NUL too). */
const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|COM[1-9\u00b9\u00b2\u00b3]|LPT[1-9\u00b9\u00b2\u00b3])$/i;

/** Why a Windows path is not acceptable, or null. */
export function windowsPathProblem(p: string): string | null {
  const unsafe = unsafeReason(p);
  if (unsafe) return unsafe;
  if (!/^[A-Za-z]:\\/.test(p)) return 'must be an absolute path with a drive letter, e.g. C:\\Shares\\data';
  const rest = p.slice(3);
  if (/["*?<>|:/]/.test(rest)) return 'must not contain any of " * ? < > | : /';
  const segs = rest.split('\\');
  if (segs.some((seg) => seg === '..' || seg === '.')) return "must not contain '.' or '..' segments";
  if (rest.endsWith('\\') && rest.length > 0) return 'must not end with \\';
  if (rest.includes('\\\\')) return 'must not contain empty segments';
  const reserved = segs.find((seg) => WINDOWS_RESERVED.test(seg.split('.')[0].trimEnd()));
  if (reserved !== undefined) return `must not use the reserved device name ${JSON.stringify(reserved)} (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an extension)`;
  const trailing = segs.find((seg) => /[. ]$/.test(seg));
  if (trailing !== undefined) return `has a segment ending in a dot or space (${JSON.stringify(trailing)}), which Windows silently strips`;
  return null;
}

export const LINUX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Debian package names: lower case, digits, + - . ; at least 2 chars, starting alphanumeric. */
export const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]{1,127}$/;
export const DEBIAN_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+~:-]{0,127}$/;
/** systemd unit names: name chars, optional @instance, optional known suffix. */
export const SYSTEMD_UNIT = /^[A-Za-z0-9_.:-]+(@[A-Za-z0-9_.:-]*)?(\.(service|socket|timer|target|mount|path))?$/;
const WINDOWS_FORBIDDEN = /["/\\[\]:;|=,+*?<>@]/;

export function linuxNameProblem(n: string): string | null {
  return unsafeReason(n) ?? (LINUX_NAME.test(n) ? null : 'must match ^[a-z_][a-z0-9_-]{0,31}$');
}

/** A local Windows account name (user: 20 characters, group: 256). */
export function windowsNameProblem(n: string, maxLen: number): string | null {
  const unsafe = unsafeReason(n);
  if (unsafe) return unsafe;
  if (n.length < 1 || n.length > maxLen) return `must be 1 to ${maxLen} characters`;
  if (WINDOWS_FORBIDDEN.test(n)) return 'must not contain any of " / \\ [ ] : ; | = , + * ? < > @';
  if (/^[. ]+$/.test(n)) return 'must not consist of dots and spaces only';
  if (/[. ]$/.test(n)) return 'must not end with a dot or space';
  return null;
}

/**
 * A reference to a Windows account (group member, a user's group, owner):
 * a user or a group, local or `DOMAIN\name` (`CONTOSO\bob`,
 * `BUILTIN\Administrators`, `NT AUTHORITY\SYSTEM`, `.\anna`), so names up to
 * 256 characters (group names; `Remote Management Users` is 23).
 */
export function windowsAccountProblem(ref: string): string | null {
  const unsafe = unsafeReason(ref);
  if (unsafe) return unsafe;
  const i = ref.indexOf('\\');
  if (i >= 0) {
    const domain = ref.slice(0, i);
    if (domain !== '.' && !/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,254}$/u.test(domain)) return `has an invalid domain ${JSON.stringify(domain)} (letters, digits, space . _ -; or . for the local computer)`;
    if (/[. ]$/.test(domain) && domain !== '.') return 'must not have a domain ending in a dot or space';
  }
  return windowsNameProblem(ref.slice(i + 1), 256);
}

/** `BUILTIN`, `.` and the computer's own name qualify local accounts. */
export function isLocalQualifier(domain: string, hostname?: unknown): boolean {
  const d = domain.toLowerCase();
  return d === '.' || d === 'builtin' || (typeof hostname === 'string' && d === hostname.toLowerCase());
}

/**
 * A Windows service name (the key name, as `sc.exe` and Get-Service -Name use
 * it): up to 256 characters, no slashes. Unlike systemd units it may hold `$`
 * (`MSSQL$SQLEXPRESS`), spaces and `#`; refused are control characters,
 * quotes and the shell sequences unsafeReason refuses (`;`, `$(`, `${`, ...).
 * Values travel to the winrm driver as data, never as code; this keeps names sane.
 */
export function windowsServiceNameProblem(n: string): string | null {
  const unsafe = unsafeReason(n) ?? (/['"\u2018\u2019\u201c\u201d]/.test(n) ? 'contains a quote' : null);
  if (unsafe) return unsafe;
  if (n.length < 1 || n.length > 256) return 'must be 1 to 256 characters';
  if (!/^[\p{L}\p{N}_$][\p{L}\p{N} _.+$@#(){}~,=!%-]*$/u.test(n)) return 'is not a valid Windows service name (letters, digits, space and _ . + - $ @ # ( ) { } ~ , = ! %; no slashes)';
  if (/ $/.test(n)) return 'must not end with a space';
  return null;
}

function isBase64(s: string): boolean {
  const t = s.replace(/\s+/g, '');
  return t.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(t);
}

// ---------------------------------------------------------------- validation

interface Check {
  res: Resource;
  out: Diagnostic[];
}

function checkPath(c: Check, os: ServerOs | undefined, pointer: string, value: unknown): void {
  if (typeof value !== 'string') return; // the schema reports type errors
  const problem = os === 'windows' ? windowsPathProblem(value) : os === 'linux' ? linuxPathProblem(value) : unsafeReason(value);
  if (problem) c.out.push(diag(c.res, pointer, problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_PATH', `path ${JSON.stringify(value)} ${problem}`));
}

/** kind of name: a local user or group (its own name), an account reference (member, owner: on Windows DOMAIN\name too), package, service. */
function checkName(c: Check, os: ServerOs | undefined, pointer: string, value: unknown, what: 'user' | 'group' | 'account' | 'package' | 'service'): void {
  if (typeof value !== 'string') return;
  let problem: string | null;
  if (os === 'linux') {
    if (what === 'package') problem = unsafeReason(value) ?? (DEBIAN_PACKAGE.test(value) ? null : 'is not a valid Debian package name (a-z 0-9 + - ., at least 2 characters)');
    else if (what === 'service') problem = unsafeReason(value) ?? (SYSTEMD_UNIT.test(value) && !value.startsWith('-') ? null : 'is not a valid systemd unit name');
    else problem = linuxNameProblem(value);
  } else if (os === 'windows') {
    if (what === 'account') problem = windowsAccountProblem(value);
    else if (what === 'user') problem = windowsNameProblem(value, 20);
    else if (what === 'group') problem = windowsNameProblem(value, 256);
    else if (what === 'service') problem = windowsServiceNameProblem(value);
    else problem = unsafeReason(value) ?? (/^[A-Za-z0-9][A-Za-z0-9._+-]{0,255}$/.test(value) ? null : `is not a valid ${what} name (letters, digits, . _ + -)`);
  } else {
    problem = unsafeReason(value);
  }
  const label = what === 'account' ? 'account' : `${what} name`;
  if (problem) c.out.push(diag(c.res, pointer, problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_NAME', `${label} ${JSON.stringify(value)} ${problem}`));
}

function linuxOnly(c: Check, os: ServerOs | undefined, fields: string[]): void {
  if (os !== 'windows') return;
  for (const f of fields) {
    if (c.res.spec?.[f] !== undefined) c.out.push(diag(c.res, `/spec/${f}`, 'E_UNSUPPORTED_FIELD', `${f} is not supported on Windows servers`));
  }
}

/** Key of an object on its server: Windows compares paths and names case-insensitively (C:\A is c:\a). */
function objectKeyOn(os: ServerOs | undefined, server: string, kind: string, id: string): string {
  return `${server}\u0000${kind}\u0000${os === 'windows' ? id.toLowerCase() : id}`;
}

/** Objects that several resources claim (same server, kind and id) are reported once per duplicate. */
const idIndex = new WeakMap<Map<string, Resource>, Map<string, Resource[]>>();
function checkUniqueId(c: Check, byAddress: Map<string, Resource>): void {
  let index = idIndex.get(byAddress);
  if (!index) {
    index = new Map();
    for (const r of byAddress.values()) {
      const id = objectIdOf(r);
      if (id === undefined) continue;
      const k = objectKeyOn(serverOs(r, byAddress), serverAddress(r), r.kind, id);
      const list = index.get(k) ?? [];
      list.push(r);
      index.set(k, list);
    }
    idIndex.set(byAddress, index);
  }
  const id = objectIdOf(c.res);
  if (id === undefined) return;
  const others = (index.get(objectKeyOn(serverOs(c.res, byAddress), serverAddress(c.res), c.res.kind, id)) ?? []).filter((r) => r.address !== c.res.address);
  if (others.length > 0) {
    const pointer = c.res.kind === 'File' || c.res.kind === 'Directory' ? '/spec/path' : '/spec/name';
    c.out.push(diag(c.res, pointer, 'E_DUPLICATE_OBJECT', `${c.res.kind} ${JSON.stringify(id)} on server ${c.res.spec.server} is also declared by ${others.map((r) => r.address).join(', ')}`));
  }
}

function objectIdOf(res: Resource): string | undefined {
  if (!SERVER_OBJECT_KINDS.includes(res.kind) || typeof res.spec?.server !== 'string') return undefined;
  if (res.kind === 'File' || res.kind === 'Directory') return typeof res.spec.path === 'string' ? res.spec.path : undefined;
  return objectName(res);
}

function validateObject(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[] {
  const c: Check = { res, out: [] };
  const os = serverOs(res, ctx.byAddress);
  const s = res.spec ?? {};
  const srv = ctx.byAddress.get(serverAddress(res));
  if (srv && srv.kind !== 'Server') c.out.push(diag(res, '/spec/server', 'E_REF_KIND', `${serverAddress(res)} is not a Server`));
  // names of other accounts: on Windows any account, DOMAIN\name too; on Linux local users/groups
  const accountName = (pointer: string, v: unknown, what: 'user' | 'group') => checkName(c, os, pointer, v, os === 'windows' ? 'account' : what);
  switch (res.kind) {
    case 'File':
    case 'Directory':
      checkPath(c, os, '/spec/path', s.path);
      if (s.owner !== undefined) accountName('/spec/owner', s.owner, 'user');
      if (s.group !== undefined) accountName('/spec/group', s.group, 'group');
      linuxOnly(c, os, ['mode']);
      if (res.kind === 'File') {
        if (s.content !== undefined && s.contentBase64 !== undefined) c.out.push(diag(res, '/spec/contentBase64', 'E_CONFLICT', 'set either content or contentBase64, not both'));
        if (typeof s.contentBase64 === 'string' && !isBase64(s.contentBase64)) c.out.push(diag(res, '/spec/contentBase64', 'E_INVALID_BASE64', 'contentBase64 is not valid base64'));
      }
      break;
    case 'User':
      checkName(c, os, s.name !== undefined ? '/spec/name' : '/metadata/name', objectName(res), 'user');
      if (s.group !== undefined) accountName('/spec/group', s.group, 'group');
      if (Array.isArray(s.groups)) {
        s.groups.forEach((g: unknown, i: number) => {
          accountName(`/spec/groups/${i}`, g, 'group');
          // a local user joins local groups only: BUILTIN\x, .\x or <computer>\x name those
          if (os === 'windows' && typeof g === 'string' && g.includes('\\') && !windowsAccountProblem(g) && !isLocalQualifier(g.slice(0, g.indexOf('\\')), srv?.spec?.hostname)) {
            c.out.push(diag(res, `/spec/groups/${i}`, 'E_INVALID_NAME', `account ${JSON.stringify(g)} is a domain group; a local user can only join local groups (name, BUILTIN\\name or .\\name)`));
          }
        });
      }
      if (s.shell !== undefined && os !== 'windows') checkPath(c, os, '/spec/shell', s.shell);
      if (s.home !== undefined && os !== 'windows') checkPath(c, os, '/spec/home', s.home);
      if (typeof s.comment === 'string') {
        const problem = unsafeReason(s.comment) ?? (os !== 'windows' && /[:,]/.test(s.comment) ? "must not contain ':' or ','" : null);
        if (problem) c.out.push(diag(res, '/spec/comment', problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_VALUE', `comment ${problem}`));
      }
      linuxOnly(c, os, ['uid', 'group', 'shell', 'home']);
      break;
    case 'Group':
      checkName(c, os, s.name !== undefined ? '/spec/name' : '/metadata/name', objectName(res), 'group');
      if (Array.isArray(s.members)) s.members.forEach((m: unknown, i: number) => accountName(`/spec/members/${i}`, m, 'user'));
      linuxOnly(c, os, ['gid']);
      break;
    case 'Package':
      checkName(c, os, s.name !== undefined ? '/spec/name' : '/metadata/name', objectName(res), 'package');
      if (typeof s.version === 'string') {
        const problem = unsafeReason(s.version) ?? (DEBIAN_VERSION.test(s.version) ? null : 'is not a valid version');
        if (problem) c.out.push(diag(res, '/spec/version', problem.startsWith('contains') ? 'E_UNSAFE_VALUE' : 'E_INVALID_VALUE', `version ${JSON.stringify(s.version)} ${problem}`));
      }
      break;
    case 'Service':
      checkName(c, os, s.name !== undefined ? '/spec/name' : '/metadata/name', objectName(res), 'service');
      break;
  }
  checkUniqueId(c, ctx.byAddress);
  return c.out;
}

// ------------------------------------------------------------- normalising

/** Normalise a file mode: "644" -> "0644"; numbers are read as octal digits. */
export function normalizeMode(mode: unknown): unknown {
  if (typeof mode === 'number') mode = String(mode);
  if (typeof mode !== 'string' || !/^[0-7]{1,4}$/.test(mode)) return mode;
  return mode.padStart(4, '0');
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Canonical form of file content: bytes that are valid UTF-8 without NUL are
 * `content` (text, so plans can show a unified diff), anything else is
 * `contentBase64`. So `content: "hi"` and `contentBase64: "aGk="` are equal.
 * Strings holding `${secret:...}` placeholders are text and stay as they are.
 */
export function canonicalContent(state: Record<string, unknown>): void {
  let bytes: Buffer | undefined;
  if (typeof state.contentBase64 === 'string') bytes = Buffer.from(state.contentBase64, 'base64');
  else if (typeof state.content === 'string') return; // text stays text
  if (!bytes) return;
  delete state.contentBase64;
  delete state.content;
  Object.assign(state, contentState(bytes));
}

/** The state fields for these bytes: `{content}` for UTF-8 text without NUL, else `{contentBase64}`. */
export function contentState(bytes: Buffer): { content: string } | { contentBase64: string } {
  if (!bytes.includes(0)) {
    try {
      return { content: utf8Decoder.decode(bytes) };
    } catch {
      /* not UTF-8 */
    }
  }
  return { contentBase64: bytes.toString('base64') };
}

/** Bytes of a File state (content or contentBase64), or undefined if content is not managed. */
export function contentBytes(state: Record<string, unknown>): Buffer | undefined {
  if (typeof state.contentBase64 === 'string') return Buffer.from(state.contentBase64, 'base64');
  if (typeof state.content === 'string') return Buffer.from(state.content, 'utf8');
  return undefined;
}

function sortedUnique(v: unknown): unknown {
  return Array.isArray(v) ? [...new Set(v.map(String))].sort() : v;
}

// ---------------------------------------------------------------- expansion

/** Resources by the name they have on their server (spec.name or metadata.name), per kind; cached per environment. */
const nameIndex = new WeakMap<Resource[], Map<string, Resource>>();
function byObjectName(ctx: ExpandContext, kind: string, server: string, name: string): Resource | undefined {
  let index = nameIndex.get(ctx.resources);
  if (!index) {
    index = new Map();
    for (const r of ctx.resources) {
      if (!SERVER_OBJECT_KINDS.includes(r.kind) || typeof r.spec?.server !== 'string') continue;
      const id = r.kind === 'File' || r.kind === 'Directory' ? r.spec.path : objectName(r);
      if (typeof id === 'string') index.set(objectKeyOn(serverOs(r, ctx.byAddress), r.spec.server, r.kind, id), r);
    }
    nameIndex.set(ctx.resources, index);
  }
  const srv = ctx.lookup('Server', server);
  return index.get(objectKeyOn(srv ? serverOs(srv, ctx.byAddress) : undefined, server, kind, name));
}


function pick(spec: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (spec[f] !== undefined) out[f] = spec[f];
  return out;
}

function parentPath(p: string): string | undefined {
  if (p.startsWith('/')) {
    const i = p.lastIndexOf('/');
    return i > 0 ? p.slice(0, i) : undefined;
  }
  const i = p.lastIndexOf('\\');
  return i > 2 ? p.slice(0, i) : undefined;
}

function expandObject(res: Resource, ctx: ExpandContext): DesiredObject[] {
  const s = res.spec ?? {};
  const server = String(s.server);
  const deps = new Set<string>([serverAddress(res)]);
  const dep = (kind: string, name: unknown) => {
    if (typeof name !== 'string') return;
    const r = byObjectName(ctx, kind, server, name);
    if (r && r.address !== res.address) deps.add(r.address);
  };
  let id: string;
  let state: Record<string, unknown>;
  switch (res.kind) {
    case 'File':
    case 'Directory':
      id = s.path;
      state = pick(s, ['content', 'contentBase64', 'mode', 'owner', 'group']);
      dep('User', s.owner);
      dep('Group', s.group);
      dep('Directory', parentPath(id));
      break;
    case 'User':
      id = objectName(res);
      state = pick(s, ['uid', 'group', 'groups', 'shell', 'home', 'comment']);
      dep('Group', s.group);
      for (const g of Array.isArray(s.groups) ? s.groups : []) dep('Group', g);
      break;
    case 'Group': {
      id = objectName(res);
      state = pick(s, ['gid', 'members']);
      // Members must exist before they can join, unless the user itself lists this
      // group (then the user depends on the group and membership is set there too).
      for (const m of Array.isArray(s.members) ? s.members : []) {
        const u = typeof m === 'string' ? byObjectName(ctx, 'User', server, m) : undefined;
        const userListsUs = u && (u.spec?.group === id || (Array.isArray(u.spec?.groups) && u.spec.groups.includes(id)));
        if (u && !userListsUs) deps.add(u.address);
      }
      break;
    }
    case 'Package':
      id = objectName(res);
      state = pick(s, ['version']);
      break;
    case 'Service':
      id = objectName(res);
      state = pick(s, ['enabled', 'state']);
      break;
    default:
      return [];
  }
  return [desiredObject(res, id, state, [...deps])];
}

/** The one DesiredObject of a server object resource (`ensure: absent` gives an empty state). Shared with other server kinds. */
export function desiredObject(res: Resource, id: string, state: Record<string, unknown>, dependsOn: string[] = [serverAddress(res)]): DesiredObject {
  const absent = res.spec?.ensure === 'absent';
  return {
    address: res.address,
    resource: res.address,
    kind: res.kind,
    target: serverAddress(res),
    id,
    ensure: absent ? 'absent' : 'present',
    state: absent ? {} : state,
    dependsOn: [...new Set(dependsOn)].sort(),
    pos: res.pos,
  };
}

function serverRefs(res: Resource): { pointer: string; kind: string; name: string }[] {
  return typeof res.spec?.server === 'string' ? [{ pointer: '/spec/server', kind: 'Server', name: res.spec.server }] : [];
}

// ------------------------------------------------------------------- kinds

export const SERVER_OBJECT_KINDS = ['File', 'Directory', 'User', 'Group', 'Package', 'Service'];

function objectKind(kind: string, normalize: KindDef['normalize']): KindDef {
  return {
    kind,
    area: 'servers',
    schema: `servers/${kind}.schema.json`,
    references: serverRefs,
    validate: validateObject,
    expand: expandObject,
    normalize,
  };
}

function normalizeFileLike(state: Record<string, unknown>): Record<string, unknown> {
  if (state.mode !== undefined) state.mode = normalizeMode(state.mode);
  canonicalContent(state);
  return state;
}

export const serverKind: KindDef = {
  kind: 'Server',
  area: 'servers',
  schema: 'servers/Server.schema.json',
  isTarget: true,
};

// A file's live content is shown in a plan only when the trusted revision manages that file (engine/trust.ts):
// a change under review cannot add `File /etc/shadow` and read it in the plan comment.
export const fileKind: KindDef = { ...objectKind('File', normalizeFileLike), liveContentFields: ['content', 'contentBase64'] };
export const directoryKind = objectKind('Directory', normalizeFileLike);
export const userKind = objectKind('User', (s) => {
  if (s.groups !== undefined) s.groups = sortedUnique(s.groups);
  return s;
});
export const groupKind = objectKind('Group', (s) => {
  if (s.members !== undefined) s.members = sortedUnique(s.members);
  return s;
});
export const packageKind = objectKind('Package', (s) => s);
export const serviceKind = objectKind('Service', (s) => s);

export const serverKinds: KindDef[] = [serverKind, fileKind, directoryKind, userKind, groupKind, packageKind, serviceKind];

export function serverKindDef(kind: string): KindDef | undefined {
  return serverKinds.find((k) => k.kind === kind);
}
