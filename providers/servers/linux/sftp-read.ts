/**
 * Reading Files and Directories over SFTP, without running a command.
 *
 * Every command over SSH starts the user's login shell (`$SHELL -c ...`), and
 * a non-interactive bash run by sshd reads `~/.bashrc` (Debian builds bash
 * with SSH_SOURCE_BASHRC): on hosts whose `.bashrc` does real work (pyenv,
 * conda, ...) that costs more than the read itself. When a read asks only for
 * Files and Directories and the host's SFTP subsystem is `internal-sftp`, it
 * needs no shell at all: LSTAT of every path, /etc/passwd and /etc/group for
 * the owner and group names, and the content of small regular files, all
 * pipelined over the one SFTP channel. (With an external sftp-server the
 * subsystem is started through the shell too, no worse than a command.)
 *
 * The same guarantees as the read script (protocol.ts), or the read falls
 * back to it:
 * - a symbolic link at a managed path is E_SYMLINK (LSTAT never follows);
 * - content is read through a handle whose FSTAT must equal the LSTAT of the
 *   path (type, mode, owner, group, size, mtime): a path swapped for a link
 *   between the two shows other attributes, and the read falls back to the
 *   script, which opens with O_NOFOLLOW;
 * - a uid or gid /etc/passwd or /etc/group does not name (NSS, LDAP) falls
 *   back, so names are what `stat %U/%G` would print;
 * - files over SFTP_READ_LIMIT bytes fall back (the script compares hashes
 *   on the host instead of sending content).
 * The state built is the script's (contentState, mode as %a, names or ids).
 */
import type { SFTPWrapper, Stats } from 'ssh2';
import type { LiveObject, ReadResult } from '../../../engine/types.js';
import { objectKey } from '../../../engine/types.js';
import { contentState } from '../kinds.js';
import { symlinkAtManagedPath, type ReadRequest } from './protocol.js';

/** Larger files are compared by hash on the host (read script), not sent. */
export const SFTP_READ_LIMIT = 256 * 1024;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** ssh2's SFTP status for "no such file" (SSH_FX_NO_SUCH_FILE), also what sftp-server answers for ENOTDIR. */
const NO_SUCH_FILE = 2;

/** Why the SFTP read gave up: the caller reads with the script instead. */
export class SftpFallback extends Error {}

function lstat(sftp: SFTPWrapper, path: string): Promise<Stats | null> {
  return new Promise((resolve, reject) =>
    sftp.lstat(path, (err, st) => {
      if (!err) return resolve(st);
      if ((err as { code?: number }).code === NO_SUCH_FILE) return resolve(null);
      reject(new SftpFallback(`lstat ${path}: ${err.message}`));
    }),
  );
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.size === b.size && a.mtime === b.mtime;
}

/** The content of a regular file whose attributes must stay `expected` (else SftpFallback). */
function readContent(sftp: SFTPWrapper, path: string, expected: Stats): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sftp.open(path, 'r', (err, handle) => {
      if (err) return reject(new SftpFallback(`open ${path}: ${err.message}`));
      const done = (e: Error | null, data?: Buffer) => sftp.close(handle, () => (e ? reject(e) : resolve(data!)));
      sftp.fstat(handle, (e2, st) => {
        if (e2) return done(new SftpFallback(`fstat ${path}: ${e2.message}`));
        if (!sameFile(st, expected)) return done(new SftpFallback(`${path} changed between lstat and open`));
        const buf = Buffer.alloc(st.size);
        let off = 0;
        const next = (): void => {
          if (off >= buf.length) return done(null, buf);
          sftp.read(handle, buf, off, Math.min(32 * 1024, buf.length - off), off, (e3, n) => {
            if (e3) return done(new SftpFallback(`read ${path}: ${e3.message}`));
            if (n === 0) return done(new SftpFallback(`${path} is shorter than its size`));
            off += n;
            next();
          });
        };
        next();
      });
    });
  });
}

function readSmallFile(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  return lstat(sftp, path).then((st) => {
    if (!st || (st.mode & S_IFMT) !== S_IFREG || st.size > 16 * 1024 * 1024) throw new SftpFallback(`${path} is not readable as a plain file`);
    return readContent(sftp, path, st);
  });
}

/** First name per id in a passwd/group file (getpwuid/getgrgid on files). */
function namesById(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && !m.has(id)) m.set(id, f[0]);
  }
  return m;
}

/**
 * Reads File and Directory requests over SFTP. Rejects with SftpFallback
 * when the script must read instead; with a DriverError for a link at a
 * managed path.
 */
export async function readOverSftp(sftp: SFTPWrapper, objects: ReadRequest[]): Promise<ReadResult> {
  if (objects.some((o) => o.kind !== 'File' && o.kind !== 'Directory')) throw new SftpFallback('not only files and directories');
  const [passwd, group, stats] = await Promise.all([
    readSmallFile(sftp, '/etc/passwd'),
    readSmallFile(sftp, '/etc/group'),
    Promise.all(objects.map((o) => lstat(sftp, o.id))),
  ]);
  const users = namesById(passwd.toString('utf8'));
  const groups = namesById(group.toString('utf8'));
  const contents = await Promise.all(
    objects.map((o, i) => {
      const st = stats[i];
      if (!st) return undefined;
      if ((st.mode & S_IFMT) === S_IFLNK) throw symlinkAtManagedPath(o.kind, o.id);
      if (o.kind !== 'File' || (st.mode & S_IFMT) !== S_IFREG) return undefined;
      if (st.size > SFTP_READ_LIMIT) throw new SftpFallback(`${o.id} is larger than ${SFTP_READ_LIMIT} bytes`);
      return readContent(sftp, o.id, st);
    }),
  );
  const result: ReadResult = { objects: {} };
  objects.forEach((o, i) => {
    const st = stats[i];
    let live: LiveObject | null = null;
    if (st) {
      const type = st.mode & S_IFMT;
      const owner = users.get(st.uid);
      const grp = groups.get(st.gid);
      if (owner === undefined || grp === undefined) throw new SftpFallback(`uid ${st.uid} or gid ${st.gid} is not in /etc/passwd or /etc/group`);
      const state: Record<string, unknown> = {};
      const kindType = type === S_IFREG ? 'file' : type === S_IFDIR ? 'directory' : 'other';
      if (kindType !== (o.kind === 'File' ? 'file' : 'directory')) state.type = kindType;
      state.mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      state.owner = owner;
      state.group = grp;
      const bytes = contents[i];
      if (bytes) Object.assign(state, contentState(bytes));
      live = { kind: o.kind, id: o.id, state };
    }
    result.objects[objectKey(o.kind, o.id)] = live;
  });
  return result;
}
