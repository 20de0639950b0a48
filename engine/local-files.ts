/**
 * Local files: where einklang may read on the machine it runs on, and how.
 *
 * A change under review decides which local paths einklang opens (an
 * `environment.yaml`, a profile folder, a `privateKeyFile`). Without rules, a
 * merge request could point them at `/dev/zero` (memory grows until the
 * process dies), at a FIFO (the run hangs), or at `../../../../etc/...` or an
 * absolute path (einklang reads, and may send, a file of the CI machine).
 *
 * - Every local file is read through `readRegularFile`: opened with
 *   O_NONBLOCK (opening a FIFO does not wait for a writer), checked with
 *   fstat on the open descriptor (so what is checked is what is read: no
 *   race with a rename), refused unless it is a regular file, and read at
 *   most to its limit: a file that grows while being read is refused too.
 * - Every local path that a manifest names resolves (realpath, so every
 *   symlink on the way is followed first) inside the repository: the git top
 *   level of the folder holding the environments, or that folder itself
 *   outside git. Connection files (`privateKeyFile`, `caFile`, `certFile`,
 *   `keyFile`) may also be inside `--keys-dir` (CI keeps keys outside the
 *   checkout).
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Diagnostic, Resource } from './types.js';
import { gitTopLevel } from './git.js';

/** Connection fields that name a local file, relative to the manifest that declares them. */
export const CONNECTION_FILE_FIELDS = ['privateKeyFile', 'caFile', 'certFile', 'keyFile'];

/** Key and certificate files are small; a larger one is not what it claims to be. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

export class LocalFileError extends Error {
  constructor(
    readonly code: 'E_READ' | 'E_NOT_REGULAR' | 'E_FILE_TOO_LARGE',
    message: string,
  ) {
    super(message);
  }
}

function typeOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of a regular file of at most `maxBytes`. Throws LocalFileError
 * for anything else (missing, unreadable, a device, FIFO, socket or folder,
 * too large), never blocks on a FIFO and never reads more than maxBytes + 1.
 */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new LocalFileError('E_READ', `cannot read file: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LocalFileError('E_NOT_REGULAR', `${typeOf(st)}, not a regular file; refused`);
    if (st.size > maxBytes) throw tooLarge(st.size, maxBytes);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) throw tooLarge(n, maxBytes); // it grew past the limit while being read
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof LocalFileError) throw e;
    throw new LocalFileError('E_READ', `cannot read file: ${(e as NodeJS.ErrnoException).code ?? e}`);
  } finally {
    closeSync(fd);
  }
}

function tooLarge(size: number, maxBytes: number): LocalFileError {
  return new LocalFileError('E_FILE_TOO_LARGE', `file is ${size > maxBytes ? `${size} bytes` : 'larger than the limit'}; the limit is ${maxBytes} bytes`);
}

/** Where a run may read local files. */
export interface LocalRoots {
  /** Real paths of the repositories of the run's environments. */
  repository: string[];
  /** Real path of --keys-dir, if given. */
  keysDir?: string;
}

/** The repository a folder of environments belongs to: its git top level, else the folder itself (real paths). */
export function repositoryOf(environmentsRoot: string): string {
  const real = realpathSync(environmentsRoot);
  return gitTopLevel(real) ?? real; // not in git (or no git): the folder holding the environments
}

export function localRoots(environmentsRoots: string[], keysDir?: string): LocalRoots {
  const repository = [...new Set(environmentsRoots.map(repositoryOf))];
  let keys: string | undefined;
  if (keysDir !== undefined) {
    try {
      keys = realpathSync(keysDir);
    } catch {
      keys = resolve(keysDir); // it contains nothing then; the files in it are reported missing
    }
  }
  return { repository, keysDir: keys };
}

function inside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Why `path` may not be read under these roots, or null. Resolves every
 * symlink first (realpath); a missing path is "does not exist".
 */
export function pathProblem(path: string, roots: LocalRoots, opts: { keysDir: boolean }): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'does not exist' : `cannot be resolved (${(e as NodeJS.ErrnoException).code ?? e})`;
  }
  if (roots.repository.some((r) => inside(real, r))) return null;
  if (opts.keysDir && roots.keysDir && inside(real, roots.keysDir)) return null;
  const where = `the repository (${roots.repository.join(', ')})${opts.keysDir ? (roots.keysDir ? ` or --keys-dir (${roots.keysDir})` : ' or a --keys-dir') : ''}`;
  return `resolves to ${real}, outside ${where}; refused`;
}

/**
 * Validate-time checks of the connection files of target resources: each
 * resolves inside the repository or --keys-dir, exists and is a regular file
 * of sensible size. Positioned at the field.
 */
export function connectionFileDiagnostics(resources: Resource[], roots: LocalRoots): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of resources) {
    const c = r.spec?.connection;
    if (!c || typeof c !== 'object') continue;
    for (const f of CONNECTION_FILE_FIELDS) {
      const v = c[f];
      if (typeof v !== 'string') continue;
      const at = r.positions?.[`/spec/connection/${f}`];
      const pos = at ? { file: r.pos.file, line: at[0], col: at[1] } : r.pos;
      const path = resolve(r.dir, v);
      const problem = pathProblem(path, roots, { keysDir: true });
      if (problem === 'does not exist') {
        out.push({ severity: 'error', code: 'E_LOCAL_FILE_MISSING', message: `${r.address}: ${f} ${JSON.stringify(v)} (${path}) does not exist`, pos });
      } else if (problem) {
        out.push({ severity: 'error', code: 'E_LOCAL_PATH', message: `${r.address}: ${f} ${JSON.stringify(v)} ${problem}`, pos });
      } else {
        try {
          readRegularFile(path, MAX_KEY_FILE_BYTES);
        } catch (e) {
          out.push({ severity: 'error', code: (e as LocalFileError).code ?? 'E_READ', message: `${r.address}: ${f} ${JSON.stringify(v)}: ${(e as Error).message}`, pos });
        }
      }
    }
  }
  return out;
}
