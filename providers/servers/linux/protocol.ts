/**
 * What the ssh driver says to a Linux host, and how it reads the answers.
 *
 * Two constant POSIX sh scripts do all the work, run as `sh -c '<script>'`:
 *
 * - READ_SCRIPT reads every requested object in one round trip. Requests
 *   arrive on stdin, one per line: a kind letter followed by the id
 *   (`D/srv/www`, `Ualice`); a File request also carries the sha256 of the
 *   desired content, or `-` (`F<sha256> /etc/motd`). The script first
 *   collects all requests, then asks each tool once for all of them: one
 *   `stat` for every File/Directory path (lstat: a symbolic link is reported
 *   as one, never followed), one `sha256sum` over the regular files with a
 *   desired hash, `base64` only for files whose hash differs (or that have no
 *   desired content), both on descriptors opened with O_NOFOLLOW by
 *   nofollow.ts's CONTENT_READER, one `getent passwd`, one `getent group`, one
 *   `dpkg-query`, one `systemctl is-enabled` and `is-active` (per unit only if
 *   systemctl stopped early, as is-enabled does at an unknown unit). So the
 *   number of processes does not grow with the number of objects. A hash that
 *   matches proves the bytes equal, and the desired content is reported as
 *   the live content. The answer is a line-oriented stream of sections framed
 *   by begin/end markers (so truncated output is detected); the parser
 *   accounts for every line.
 * - APPLY_SCRIPT performs one operation; its fields arrive on stdin as
 *   `key=value` lines and are only ever used as double-quoted variables. It
 *   refuses a symbolic link at a managed path, sets mode and owner only
 *   through a descriptor opened with O_NOFOLLOW (nofollow.ts ATTRS_SETTER),
 *   and replaces files by rename(2), which replaces a link, never follows it.
 *
 * A File or Directory whose managed path is a symbolic link is an error of
 * the read naming the path (parseReadOutput): einklang neither reads nor
 * changes what the link points to, and shows nothing of it.
 *
 * No manifest value is ever part of a command line. The simulator recognises
 * exactly these two command lines and emulates them over its model.
 */
import type { LiveObject, ReadResult } from '../../../engine/types.js';
import { DriverError, objectKey } from '../../../engine/types.js';
import { createHash } from 'node:crypto';
import { contentBytes, contentState } from '../kinds.js';
import { assertLineSafe, shq } from './quote.js';
import { ATTRS_SETTER, CONTENT_READER } from './nofollow.js';

export const READ_SCRIPT = `# einklang-read v3: requests on stdin, one per line: kind letter + id (File: F<sha256 of the desired content, or -><space><path>)
export LC_ALL=C
set -f
nl='
'
fd= fr= us= gs= ps= ss=
while IFS= read -r line; do
  k=\${line%"\${line#?}"}
  id=\${line#?}
  case $k in
  F)
    fr=$fr$id$nl
    fd=$fd\${id#* }$nl;;
  D) fd=$fd$id$nl;;
  U) us=$us$id$nl;;
  G) gs=$gs$id$nl;;
  P) ps=$ps$id$nl;;
  S) ss=$ss$id$nl;;
  *) echo 'einklang: unknown request' >&2; exit 2;;
  esac
done
IFS=$nl
echo '@@einklang-read-begin v3'
echo '@@stat'
if [ -n "$fd" ]; then
  stat -c '%F|%a|%u|%g|%U|%G|%s|%n' -- $fd 2>/dev/null || for p in $fd; do
    if [ ! -e "$p" ] && [ ! -L "$p" ]; then printf '%s\\n' "- $p"; fi
  done
fi
echo '@@content'
if [ -n "$fr" ]; then
  command -v perl >/dev/null 2>&1 || { echo 'einklang: perl is missing on the host (Debian: perl-base)' >&2; exit 3; }
  printf '%s' "$fr" | perl -e ${shq(CONTENT_READER)}
fi
echo '@@passwd'
if [ -n "$us" ]; then getent passwd $us 2>/dev/null; fi
echo '@@group'
if [ -n "$us" ]; then getent group 2>/dev/null; elif [ -n "$gs" ]; then getent group $gs 2>/dev/null; fi
echo '@@dpkg'
if [ -n "$ps" ]; then dpkg-query -W -f='\${Package}|\${Status}|\${Version}\\n' $ps 2>/dev/null; fi
echo '@@systemd'
if [ -n "$ss" ]; then
  set -- $ss
  n=$#
  for q in is-enabled is-active; do
    r=$(systemctl $q $ss 2>/dev/null)
    set -- $r
    if [ $# -eq $n ]; then
      printf '%s\\n' "$r"
    else
      for u in $ss; do printf '%s\\n' "$(systemctl $q "$u" 2>/dev/null)"; done
    fi
  done
fi
echo '@@einklang-read-end'
`;

export const APPLY_SCRIPT = `# einklang-apply v1: one operation, fields on stdin as key=value lines
op= path= tmp= mode= owner= group= name= uid= gid= shell= home= comment= groups= members= version= enabled= state=
has_comment= has_groups= has_members= newdir= ref=
while IFS= read -r line; do
  k=\${line%%=*}
  v=\${line#*=}
  case $k in
  op) op=$v;; path) path=$v;; tmp) tmp=$v;; mode) mode=$v;; owner) owner=$v;; group) group=$v;;
  name) name=$v;; uid) uid=$v;; gid) gid=$v;; shell) shell=$v;; home) home=$v;;
  comment) comment=$v; has_comment=1;; groups) groups=$v; has_groups=1;; members) members=$v; has_members=1;;
  version) version=$v;; enabled) enabled=$v;; state) state=$v;;
  *) echo "einklang: unknown field" >&2; exit 2;;
  esac
done
fail() {
  if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi
  if [ -n "$newdir" ]; then rmdir -- "$newdir" 2>/dev/null; fi
  echo "einklang: $*" >&2
  exit 1
}
nolink() {
  if [ -L "$1" ]; then fail "$1 is a symbolic link; einklang never follows links at managed paths (nothing was changed)"; fi
}
# mode/owner/group (and those of REF, $3) onto $1 of type $2 (f|d), through a descriptor opened with O_NOFOLLOW (nofollow.ts)
attrs() {
  if [ -n "$mode$owner$group$3" ]; then
    command -v perl >/dev/null 2>&1 || fail "perl is missing on the host (Debian: perl-base)"
    perl -e ${shq(ATTRS_SETTER)} -- "$1" "$2" "$mode" "$owner" "$group" "$3" || fail "mode and owner of $1 not set"
  fi
}
case $op in
file-commit)
  [ -n "$tmp" ] && [ -f "$tmp" ] && [ ! -L "$tmp" ] || fail "temporary file missing"
  nolink "$path"
  if [ -d "$path" ]; then fail "$path is a directory"; fi
  if [ -e "$path" ]; then ref=$path; elif [ -z "$mode" ]; then mode=0644; fi
  attrs "$tmp" f "$ref"
  # rename(2) replaces the path itself: a link put there since the check is replaced, never followed
  mv -fT -- "$tmp" "$path" || fail "rename to $path failed";;
file-attrs)
  nolink "$path"
  [ -e "$path" ] || fail "$path does not exist"
  attrs "$path" f "";;
file-delete)
  nolink "$path"
  if [ -d "$path" ]; then fail "$path is a directory"; fi
  rm -f -- "$path" || fail "cannot remove $path";;
dir-create)
  nolink "$path"
  if [ ! -d "$path" ]; then
    [ -e "$path" ] && fail "$path exists and is not a directory"
    mkdir -p -- "$path" || fail "mkdir $path failed"
    newdir=$path
  fi
  attrs "$path" d "";;
dir-delete)
  nolink "$path"
  if [ -e "$path" ]; then rmdir -- "$path" || fail "cannot remove $path (not empty?)"; fi;;
user-create|user-update)
  if [ "$op" = user-create ]; then set -- -M; else set --; fi
  if [ -n "$uid" ]; then set -- "$@" -u "$uid"; fi
  if [ -n "$group" ]; then set -- "$@" -g "$group"; fi
  if [ -n "$has_groups" ]; then
    if [ "$op" = user-update ] || [ -n "$groups" ]; then set -- "$@" -G "$groups"; fi
  fi
  if [ -n "$shell" ]; then set -- "$@" -s "$shell"; fi
  if [ -n "$home" ]; then set -- "$@" -d "$home"; fi
  if [ -n "$has_comment" ]; then set -- "$@" -c "$comment"; fi
  if [ "$op" = user-create ]; then
    useradd "$@" "$name" || fail "useradd failed"
  elif [ $# -gt 0 ]; then
    usermod "$@" "$name" || fail "usermod failed"
  fi;;
user-delete)
  userdel "$name" || fail "userdel failed";;
group-create)
  if [ -n "$gid" ]; then groupadd -g "$gid" "$name"; else groupadd "$name"; fi || fail "groupadd failed"
  if [ -n "$has_members" ]; then
    gpasswd -M "$members" "$name" >/dev/null || { groupdel "$name"; fail "gpasswd failed"; }
  fi;;
group-update)
  if [ -n "$gid" ]; then groupmod -g "$gid" "$name" || fail "groupmod failed"; fi
  if [ -n "$has_members" ]; then gpasswd -M "$members" "$name" >/dev/null || fail "gpasswd failed"; fi;;
group-delete)
  groupdel "$name" || fail "groupdel failed";;
pkg-install)
  p=$name
  if [ -n "$version" ]; then p="$name=$version"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null </dev/null || fail "apt-get install failed";;
pkg-remove)
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "$name" >/dev/null </dev/null || fail "apt-get remove failed";;
svc-apply)
  if [ "$(systemctl is-enabled "$name" 2>/dev/null)" = masked ]; then systemctl unmask "$name" || fail "systemctl unmask failed"; fi
  case $enabled in
  true) systemctl enable "$name" || fail "systemctl enable failed";;
  false) systemctl disable "$name" || fail "systemctl disable failed";;
  esac
  case $state in
  running) systemctl start "$name" || fail "systemctl start failed";;
  stopped) systemctl stop "$name" || fail "systemctl stop failed";;
  esac;;
svc-mask)
  systemctl stop "$name" 2>/dev/null
  systemctl mask "$name" || fail "systemctl mask failed";;
*)
  fail "unknown operation";;
esac
`;

/** The exact command lines sent over ssh (and the only ones the simulator accepts). */
export const READ_COMMAND = `sh -c ${shq(READ_SCRIPT)}`;
export const APPLY_COMMAND = `sh -c ${shq(APPLY_SCRIPT)}`;

export const KIND_CODE: Record<string, string> = { File: 'F', Directory: 'D', User: 'U', Group: 'G', Package: 'P', Service: 'S' };

/** A read request: the object, and (for Files) the desired state, whose content is only hashed. */
export interface ReadRequest {
  kind: string;
  id: string;
  state?: Record<string, unknown>;
}

/**
 * The sha256 (hex) of the desired content a File request carries, or undefined.
 * A path asked for more than once carries none (its content is read in full),
 * so that a match always belongs to exactly one desired state.
 */
function desiredHashes(objects: ReadRequest[]): Map<ReadRequest, string> {
  const count = new Map<string, number>();
  for (const o of objects) if (o.kind === 'File') count.set(o.id, (count.get(o.id) ?? 0) + 1);
  const out = new Map<ReadRequest, string>();
  for (const o of objects) {
    if (o.kind !== 'File' || count.get(o.id) !== 1 || !o.state) continue;
    const bytes = contentBytes(o.state);
    if (bytes) out.set(o, createHash('sha256').update(bytes).digest('hex'));
  }
  return out;
}

/** stdin for READ_SCRIPT: `F<sha256|-> <path>`, `D<path>`, `U<name>`, ... one per line. */
export function encodeReadRequest(objects: ReadRequest[]): string {
  const hashes = desiredHashes(objects);
  return objects
    .map((o) => {
      const code = KIND_CODE[o.kind];
      if (!code) throw new Error(`the ssh driver does not manage kind ${o.kind}`);
      const id = assertLineSafe(`${o.kind} id`, o.id);
      return code === 'F' ? `F${hashes.get(o) ?? '-'} ${id}\n` : `${code}${id}\n`;
    })
    .join('');
}

/** Operation fields for APPLY_SCRIPT. Values must be single lines; undefined values are left out. */
export type ApplyFields = Record<string, string | number | boolean | undefined>;

export function encodeApplyFields(fields: ApplyFields): string {
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out += `${k}=${assertLineSafe(k, String(v))}\n`;
  }
  return out;
}

/** Parsed stat line: `%F|%a|%u|%g|%U|%G|%s|%n`. */
interface StatInfo {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: string;
  owner: string;
  group: string;
}

/** Splits a stat line into its info and path (%n is last and may itself contain `|`). */
function parseStat(s: string): { path: string; info: StatInfo } {
  const parts = s.split('|');
  if (parts.length < 8) throw new Error(`unexpected stat output ${JSON.stringify(s)}`);
  const [ftype, mode, uid, gid, uname, gname] = parts;
  const type = ftype.startsWith('regular') ? 'file' : ftype === 'directory' ? 'directory' : ftype === 'symbolic link' ? 'symlink' : 'other';
  return {
    path: parts.slice(7).join('|'),
    info: {
      type,
      mode: mode.padStart(4, '0'),
      owner: uname === 'UNKNOWN' ? uid : uname,
      group: gname === 'UNKNOWN' ? gid : gname,
    },
  };
}

const ENABLED = new Set(['enabled', 'enabled-runtime', 'alias', 'generated']);
const RUNNING = new Set(['active', 'reloading', 'activating', 'deactivating']);
const SECTIONS = ['@@stat', '@@content', '@@passwd', '@@group', '@@dpkg', '@@systemd', '@@einklang-read-end'] as const;
export const READ_BEGIN = '@@einklang-read-begin v3';

/** The sections of READ_SCRIPT output, in order; throws if a marker is missing (truncated output). */
function splitSections(stdout: string): Record<(typeof SECTIONS)[number], string[]> {
  const lines = stdout.split('\n');
  let i = lines.indexOf(READ_BEGIN);
  if (i < 0) throw new Error('read script output has no begin marker');
  if (lines[++i] !== SECTIONS[0]) throw new Error('read script output ended early');
  i++;
  const out = {} as Record<(typeof SECTIONS)[number], string[]>;
  for (let s = 0; s < SECTIONS.length - 1; s++) {
    const end = lines.indexOf(SECTIONS[s + 1], i);
    if (end < 0) throw new Error(SECTIONS[s + 1] === '@@einklang-read-end' ? 'read script output has no end marker (truncated?)' : 'read script output ended early');
    out[SECTIONS[s]] = lines.slice(i, end);
    i = end + 1;
  }
  out['@@einklang-read-end'] = [];
  return out;
}

/** `name:x:...` entries by name (the first one wins, as for a lookup). */
function entriesByName(lines: string[], minFields: number, what: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const f = l.split(':');
    if (f.length < minFields) throw new Error(`unexpected ${what} entry ${JSON.stringify(l.slice(0, 80))}`);
    if (!out.has(f[0])) out.set(f[0], f);
  }
  return out;
}

/** A managed File or Directory path that is a symbolic link on the host: refused, naming the path and nothing of the link's target. */
export function symlinkAtManagedPath(kind: string, path: string): DriverError {
  return new DriverError(`${kind} ${path} is a symbolic link on the host; einklang never follows links at managed paths: it neither reads nor changes what the link points to. Replace the link by hand (or manage its target's path instead)`, { code: 'E_SYMLINK' });
}

/** Parse READ_SCRIPT output for the given requests. Throws on anything unexpected (a DriverError for a symbolic link at a managed path). */
export function parseReadOutput(objects: ReadRequest[], stdout: string): ReadResult {
  const sec = splitSections(stdout);
  const paths = new Set(objects.filter((o) => o.kind === 'File' || o.kind === 'Directory').map((o) => o.id));

  const stats = new Map<string, StatInfo>();
  const gone = new Set<string>();
  for (const l of sec['@@stat']) {
    if (l.startsWith('- ')) {
      gone.add(l.slice(2));
      continue;
    }
    const { path, info } = parseStat(l);
    if (!paths.has(path)) throw new Error(`unexpected stat output ${JSON.stringify(l.slice(0, 200))}`);
    stats.set(path, info);
  }

  // per path: '=' (the desired content's hash matched) or the base64 payload ('!' if unreadable)
  const contents = new Map<string, string>();
  const content = sec['@@content'];
  const files = new Set(objects.filter((o) => o.kind === 'File').map((o) => o.id));
  for (let i = 0; i < content.length; i++) {
    const l = content[i];
    const path = l.slice(2);
    if (!files.has(path) || !(l.startsWith('= ') || (l.startsWith('c ') && i + 1 < content.length))) throw new Error(`unexpected content record ${JSON.stringify(l.slice(0, 200))}`);
    contents.set(path, l.startsWith('= ') ? '=' : content[++i]);
  }
  const hashes = desiredHashes(objects);

  const passwd = entriesByName(sec['@@passwd'], 7, 'passwd');
  const groupLines = sec['@@group'].map((l) => {
    const f = l.split(':');
    if (f.length < 4) throw new Error(`unexpected group entry ${JSON.stringify(l.slice(0, 80))}`);
    return f;
  });
  const groups = entriesByName(sec['@@group'], 4, 'group');
  /** getgrgid: the first group with this gid. */
  const groupNameOf = (gid: number): string | undefined => groupLines.find((f) => Number(f[2]) === gid)?.[0];

  const packages = new Map<string, { status: string; version: string }>();
  for (const l of sec['@@dpkg']) {
    const [name, status, version] = l.split('|');
    if (version === undefined) throw new Error(`unexpected dpkg-query output ${JSON.stringify(l.slice(0, 80))}`);
    const seen = packages.get(name);
    // a Multi-Arch package may be listed once per architecture: an installed one counts
    if (!seen || (!/ installed$/.test(seen.status) && / installed$/.test(status))) packages.set(name, { status, version });
  }

  const services = objects.filter((o) => o.kind === 'Service');
  const units = sec['@@systemd'];
  if (units.length !== 2 * services.length) throw new Error(`unexpected systemctl output (${units.length} lines for ${services.length} units)`);
  let unitIndex = 0;

  const result: ReadResult = { objects: {} };
  for (const o of objects) {
    let live: LiveObject | null = null;
    const state: Record<string, unknown> = {};
    let exists = true;
    switch (o.kind) {
      case 'File':
      case 'Directory': {
        const st = stats.get(o.id);
        if (!st) {
          if (gone.has(o.id)) {
            exists = false;
            break;
          }
          throw new Error(`cannot stat ${o.id}`);
        }
        if (st.type === 'symlink') throw symlinkAtManagedPath(o.kind, o.id);
        if (st.type !== (o.kind === 'File' ? 'file' : 'directory')) state.type = st.type;
        state.mode = st.mode;
        state.owner = st.owner;
        state.group = st.group;
        if (o.kind === 'File') {
          const c = contents.get(o.id);
          if (c === undefined) {
            if (st.type === 'file') throw new Error(`no content read for ${o.id} (changed while being read?)`);
          } else if (c === '=') {
            const bytes = hashes.has(o) ? contentBytes(o.state!) : undefined;
            if (!bytes) throw new Error(`unexpected content match for ${o.id}`);
            Object.assign(state, contentState(bytes)); // the bytes on the host are these: their sha256 matched
          } else if (c.endsWith('!')) {
            throw new Error(`cannot read ${o.id}`);
          } else {
            Object.assign(state, contentState(Buffer.from(c, 'base64')));
          }
        }
        break;
      }
      case 'User': {
        const f = passwd.get(o.id);
        if (!f) {
          exists = false;
          break;
        }
        // what `id -gn` / `id -Gn` print: names of the primary gid and of the groups listing the user (getgrouplist)
        const gid = Number(f[3]);
        const primary = groupNameOf(gid) ?? f[3];
        const gids = [...new Set([gid, ...groupLines.filter((g) => g[3].split(',').includes(o.id)).map((g) => Number(g[2]))])];
        const sup = gids.map((g) => groupNameOf(g) ?? String(g));
        const at = sup.indexOf(primary);
        if (at >= 0) sup.splice(at, 1);
        state.uid = Number(f[2]);
        state.group = primary;
        state.groups = [...new Set(sup)].sort();
        state.comment = f[4];
        state.home = f[5];
        state.shell = f.slice(6).join(':');
        break;
      }
      case 'Group': {
        const f = groups.get(o.id);
        if (!f) {
          exists = false;
          break;
        }
        state.gid = Number(f[2]);
        state.members = f[3] ? [...new Set(f[3].split(','))].sort() : [];
        break;
      }
      case 'Package': {
        const p = packages.get(o.id);
        exists = p !== undefined && / installed$/.test(p.status);
        state.version = p?.version;
        break;
      }
      case 'Service': {
        const en = units[unitIndex];
        const ac = units[services.length + unitIndex++];
        // masked counts as absent: that is what ensure: absent makes of a unit
        exists = !(en === '' || en === 'not-found' || en.startsWith('masked'));
        state.enabled = ENABLED.has(en);
        state.state = RUNNING.has(ac) ? 'running' : 'stopped';
        break;
      }
      default:
        throw new Error(`the ssh driver does not manage kind ${o.kind}`);
    }
    if (exists) live = { kind: o.kind, id: o.id, state };
    result.objects[objectKey(o.kind, o.id)] = live;
  }
  return result;
}
