/**
 * What the ssh driver says to a Linux host, and how it reads the answers.
 *
 * Two constant POSIX sh scripts do all the work, run as `sh -c '<script>'`:
 *
 * - READ_SCRIPT reads every requested object in one round trip. Requests
 *   arrive on stdin, one per line: a kind letter followed by the id
 *   (`F/etc/motd`, `Ualice`). The answer is a line-oriented record stream
 *   framed by begin/end markers (so truncated output is detected).
 * - APPLY_SCRIPT performs one operation; its fields arrive on stdin as
 *   `key=value` lines and are only ever used as double-quoted variables.
 *
 * No manifest value is ever part of a command line. The simulator recognises
 * exactly these two command lines and emulates them over its model.
 */
import type { LiveObject, ReadResult } from '../../../engine/types.js';
import { objectKey } from '../../../engine/types.js';
import { contentState } from '../kinds.js';
import { assertLineSafe, shq } from './quote.js';

export const READ_SCRIPT = `# einklang-read v1: requests on stdin, one per line: kind letter + id
echo '@@einklang-read-begin'
while IFS= read -r line; do
  k=\${line%"\${line#?}"}
  id=\${line#?}
  case $k in
  F|D)
    if [ -e "$id" ] || [ -L "$id" ]; then
      s=$(stat -c '%F|%a|%u|%g|%U|%G|%s' -- "$id" 2>/dev/null) || s='!'
      echo "$k $s"
      if [ "$k" = F ]; then
        if [ -f "$id" ]; then base64 -w0 < "$id" 2>/dev/null || printf '!'; else printf '#'; fi
        echo
      fi
    else
      echo "$k -"
    fi;;
  U)
    if e=$(getent passwd "$id"); then
      echo "U $e"
      echo "g $(id -gn "$id" 2>/dev/null)"
      echo "G $(id -Gn "$id" 2>/dev/null)"
    else
      echo "U -"
    fi;;
  G)
    if e=$(getent group "$id"); then echo "G $e"; else echo "G -"; fi;;
  P)
    if e=$(dpkg-query -W -f='\${Status}|\${Version}' "$id" 2>/dev/null); then echo "P $e"; else echo "P -"; fi;;
  S)
    en=$(systemctl is-enabled "$id" 2>/dev/null)
    ac=$(systemctl is-active "$id" 2>/dev/null)
    echo "S $en|$ac";;
  *)
    echo "? $k";;
  esac
done
echo '@@einklang-read-end'
`;

export const APPLY_SCRIPT = `# einklang-apply v1: one operation, fields on stdin as key=value lines
op= path= tmp= mode= owner= group= name= uid= gid= shell= home= comment= groups= members= version= enabled= state=
has_comment= has_groups= has_members= newdir=
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
attrs() {
  if [ -n "$mode" ]; then chmod "$mode" -- "$1" || fail "chmod failed"; fi
  if [ -n "$owner" ]; then chown "$owner" -- "$1" || fail "chown failed"; fi
  if [ -n "$group" ]; then chgrp "$group" -- "$1" || fail "chgrp failed"; fi
}
case $op in
file-commit)
  [ -n "$tmp" ] && [ -f "$tmp" ] || fail "temporary file missing"
  if [ -d "$path" ] && [ ! -L "$path" ]; then fail "$path is a directory"; fi
  if [ -e "$path" ]; then
    chmod --reference="$path" -- "$tmp" && chown --reference="$path" -- "$tmp" || fail "cannot copy mode and owner of $path"
  else
    chmod 0644 -- "$tmp" || fail "chmod failed"
  fi
  attrs "$tmp"
  mv -fT -- "$tmp" "$path" || fail "rename to $path failed";;
file-attrs)
  [ -e "$path" ] || fail "$path does not exist"
  attrs "$path";;
file-delete)
  if [ -d "$path" ] && [ ! -L "$path" ]; then fail "$path is a directory"; fi
  rm -f -- "$path" || fail "cannot remove $path";;
dir-create)
  if [ ! -d "$path" ]; then
    [ -e "$path" ] && fail "$path exists and is not a directory"
    mkdir -p -- "$path" || fail "mkdir $path failed"
    newdir=$path
  fi
  attrs "$path";;
dir-delete)
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

/** stdin for READ_SCRIPT. */
export function encodeReadRequest(objects: { kind: string; id: string }[]): string {
  return objects
    .map((o) => {
      const code = KIND_CODE[o.kind];
      if (!code) throw new Error(`the ssh driver does not manage kind ${o.kind}`);
      return code + assertLineSafe(`${o.kind} id`, o.id) + '\n';
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

/** Parsed stat line: `%F|%a|%u|%g|%U|%G|%s`. */
interface StatInfo {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: string;
  owner: string;
  group: string;
}

function parseStat(s: string): StatInfo {
  const parts = s.split('|');
  if (parts.length !== 7) throw new Error(`unexpected stat output ${JSON.stringify(s)}`);
  const [ftype, mode, uid, gid, uname, gname] = parts;
  const type = ftype.startsWith('regular') ? 'file' : ftype === 'directory' ? 'directory' : ftype === 'symbolic link' ? 'symlink' : 'other';
  return {
    type,
    mode: mode.padStart(4, '0'),
    owner: uname === 'UNKNOWN' ? uid : uname,
    group: gname === 'UNKNOWN' ? gid : gname,
  };
}

const ENABLED = new Set(['enabled', 'enabled-runtime', 'alias', 'generated']);
const RUNNING = new Set(['active', 'reloading', 'activating', 'deactivating']);

/** Parse READ_SCRIPT output for the given requests. Throws on anything unexpected. */
export function parseReadOutput(objects: { kind: string; id: string }[], stdout: string): ReadResult {
  const lines = stdout.split('\n');
  let i = lines.indexOf('@@einklang-read-begin');
  if (i < 0) throw new Error('read script output has no begin marker');
  i++;
  const next = (label: string): string => {
    const line = lines[i++];
    if (line === undefined || line === '@@einklang-read-end') throw new Error('read script output ended early');
    if (!line.startsWith(label + ' ') && line !== label) throw new Error(`read script output: expected a ${label} record, got ${JSON.stringify(line.slice(0, 80))}`);
    return line.slice(label.length + 1);
  };
  const result: ReadResult = { objects: {} };
  for (const o of objects) {
    const code = KIND_CODE[o.kind];
    const body = next(code);
    let live: LiveObject | null = null;
    if (body !== '-') {
      const state: Record<string, unknown> = {};
      let exists = true;
      switch (o.kind) {
        case 'File':
        case 'Directory': {
          if (body === '!') throw new Error(`cannot stat ${o.id}`);
          const st = parseStat(body);
          if (st.type !== (o.kind === 'File' ? 'file' : 'directory')) state.type = st.type;
          state.mode = st.mode;
          state.owner = st.owner;
          state.group = st.group;
          if (o.kind === 'File') {
            const c = lines[i++] ?? '';
            if (c.endsWith('!')) throw new Error(`cannot read ${o.id}`);
            if (c !== '#') Object.assign(state, contentState(Buffer.from(c, 'base64')));
          }
          break;
        }
        case 'User': {
          const f = body.split(':');
          if (f.length < 7) throw new Error(`unexpected passwd entry for ${o.id}`);
          const primary = next('g');
          const all = next('G').split(' ').filter(Boolean);
          state.uid = Number(f[2]);
          state.group = primary;
          const sup = [...all];
          const at = sup.indexOf(primary);
          if (at >= 0) sup.splice(at, 1);
          state.groups = [...new Set(sup)].sort();
          state.comment = f[4];
          state.home = f[5];
          state.shell = f.slice(6).join(':');
          break;
        }
        case 'Group': {
          const f = body.split(':');
          if (f.length < 4) throw new Error(`unexpected group entry for ${o.id}`);
          state.gid = Number(f[2]);
          state.members = f[3] ? [...new Set(f[3].split(','))].sort() : [];
          break;
        }
        case 'Package': {
          const [status, version] = body.split('|');
          exists = / installed$/.test(status);
          state.version = version;
          break;
        }
        case 'Service': {
          const [en, ac] = body.split('|');
          // masked counts as absent: that is what ensure: absent makes of a unit
          exists = !(en === '' || en === 'not-found' || en.startsWith('masked'));
          state.enabled = ENABLED.has(en);
          state.state = RUNNING.has(ac) ? 'running' : 'stopped';
          break;
        }
      }
      if (exists) live = { kind: o.kind, id: o.id, state };
    }
    result.objects[objectKey(o.kind, o.id)] = live;
  }
  if (lines[i] !== '@@einklang-read-end') throw new Error('read script output has no end marker (truncated?)');
  return result;
}
