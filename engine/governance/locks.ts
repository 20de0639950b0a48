/**
 * Environment locks: one apply per environment at a time.
 *
 * `LockStore` is the interface apply uses; `FileLockStore` is the default,
 * keeping `<root>/.einklang/locks/<env>.lock` files next to the manifests
 * (root = the environment folder, see `envLockStore`). A lock file is created
 * with O_CREAT|O_EXCL (`wx`), which the kernel makes atomic across processes
 * on one file system; its content says who holds it. For several CI runners
 * without a shared file system, implement LockStore on a shared service
 * (GitLab resource_group, a database row, S3 conditional put).
 *
 * Locks are never broken automatically (a CI runner's pid says nothing about
 * another container); `einklang unlock ENV --id ID` breaks a stale one, and
 * needs its id so that one does not break a lock one has not looked at.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

export interface LockInfo {
  id: string;
  env: string;
  holder: string;
  /** ISO time the lock was taken. */
  since: string;
  pid: number;
  host: string;
}

export interface AcquireOptions {
  /** Who takes it (the plan's author or the CI job), shown to whoever waits. */
  holder: string;
  /** Wait for a held lock instead of failing at once. */
  wait?: boolean;
  /** Give up waiting after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Poll interval while waiting (default 250 ms, with jitter). */
  pollMs?: number;
  /** The folder `einklang unlock` takes to break this lock, named in the hint (default: the lock's name). */
  unlockDir?: string;
}

export interface LockStore {
  /** Take the environment's lock or throw LockHeldError. */
  acquire(env: string, opts: AcquireOptions): Promise<LockInfo>;
  /** Release a lock this caller holds; false if it is not held with that id. */
  release(env: string, id: string): Promise<boolean>;
  /** Break a (stale) lock by id; throws if the id does not match the current holder. */
  break(env: string, id: string): Promise<LockInfo>;
  /** Who holds it now, or null. */
  current(env: string): Promise<LockInfo | null>;
  /** The folder `einklang unlock` takes to break this environment's lock, if the CLI can. */
  unlockDir?(env: string): string | undefined;
}

export class LockHeldError extends Error {
  constructor(
    public readonly env: string,
    public readonly held: LockInfo | null,
    waitedMs?: number,
    unlockDir?: string,
  ) {
    super(describeHeld(env, held, waitedMs, unlockDir));
    this.name = 'LockHeldError';
  }
}

/** Several environments of one apply are locked; the message names each, one per line. */
export class LocksHeldError extends Error {
  constructor(public readonly held: LockHeldError[]) {
    super(held.map((h) => h.message).join('\n'));
    this.name = 'LocksHeldError';
  }
}

/** The folder argument of the unlock hint, as typed in the current folder: relative below it, else absolute, quoted for a POSIX shell when needed. */
function unlockArg(env: string, unlockDir?: string): string {
  let arg = env;
  if (unlockDir) {
    const rel = relative(process.cwd(), resolve(unlockDir));
    arg = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? resolve(unlockDir) : rel;
  }
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function describeHeld(env: string, h: LockInfo | null, waitedMs?: number, unlockDir?: string): string {
  const waited = waitedMs !== undefined ? ` (waited ${Math.round(waitedMs / 1000)} s)` : '';
  const dir = unlockArg(env, unlockDir);
  if (!h) return `environment ${env} is locked (lock file being written or unreadable)${waited}; if stale: einklang unlock ${dir} --id unknown`;
  return (
    `environment ${env} is locked by ${h.holder} since ${h.since} (pid ${h.pid} on ${h.host}, id ${h.id})${waited}; ` +
    `if that apply is gone: einklang unlock ${dir} --id ${h.id}`
  );
}

const UNREADABLE = 'unknown';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Read a lock file: its info, null if absent, or 'unreadable' (empty/partial/garbage). */
export async function readLockFile(path: string): Promise<LockInfo | null | 'unreadable'> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e: any) {
    if (e?.code === 'ENOENT') return null;
    throw e;
  }
  try {
    const info = JSON.parse(text);
    if (info && typeof info.id === 'string') return info as LockInfo;
  } catch {
    /* fall through */
  }
  return 'unreadable';
}

/** Create the lock file atomically; false if it exists. */
async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  await fs.mkdir(dirname(path), { recursive: true });
  let fh;
  try {
    fh = await fs.open(path, 'wx', 0o644);
  } catch (e: any) {
    if (e?.code === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(JSON.stringify(info) + '\n', 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

/** Take a lock file at `path` (the primitive behind FileLockStore and the journal's append lock). */
export async function acquireLockFile(path: string, env: string, opts: AcquireOptions): Promise<LockInfo> {
  const info: LockInfo = {
    id: randomUUID(),
    env,
    holder: opts.holder || 'unknown',
    since: new Date().toISOString(),
    pid: process.pid,
    host: hostname(),
  };
  const start = Date.now();
  const timeout = opts.timeoutMs ?? 10 * 60_000;
  const poll = opts.pollMs ?? 250;
  for (;;) {
    info.since = new Date().toISOString();
    if (await tryCreate(path, info)) return { ...info };
    const held = await readLockFile(path);
    if (held === null) continue; // released between our attempt and the read: try again at once
    const waited = Date.now() - start;
    if (!opts.wait || waited >= timeout) {
      throw new LockHeldError(env, held === 'unreadable' ? null : held, opts.wait ? waited : undefined, opts.unlockDir);
    }
    await sleep(Math.min(poll * (0.5 + Math.random()), Math.max(1, timeout - waited)));
  }
}

/** Remove the lock file if it carries `id` (or, for an unreadable file, if id is "unknown"). */
async function removeIf(path: string, id: string): Promise<LockInfo | null> {
  const held = await readLockFile(path);
  if (held === null) return null;
  const heldId = held === 'unreadable' ? UNREADABLE : held.id;
  if (heldId !== id) return null;
  try {
    await fs.unlink(path);
  } catch (e: any) {
    if (e?.code === 'ENOENT') return null;
    throw e;
  }
  return held === 'unreadable'
    ? { id: UNREADABLE, env: '', holder: UNREADABLE, since: '', pid: 0, host: '' }
    : held;
}

export async function releaseLockFile(path: string, id: string): Promise<boolean> {
  return (await removeIf(path, id)) !== null;
}

/** Run fn while holding the lock file at `path`. */
export async function withLockFile<T>(path: string, opts: AcquireOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLockFile(path, basename(path), opts);
  try {
    return await fn();
  } finally {
    await releaseLockFile(path, lock.id);
  }
}

export class FileLockStore implements LockStore {
  readonly dir: string;
  private readonly root: string;

  /** `root` is the folder that holds `.einklang/` (the environment folder by default). */
  constructor(root: string) {
    this.root = resolve(root);
    this.dir = join(this.root, '.einklang', 'locks');
  }

  path(env: string): string {
    return join(this.dir, `${env.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
  }

  acquire(env: string, opts: AcquireOptions): Promise<LockInfo> {
    return acquireLockFile(this.path(env), env, { unlockDir: this.unlockDir(env), ...opts });
  }

  /** `einklang unlock ENVDIR` finds the lock of the environment folder it is given (see envLockStore). */
  unlockDir(env: string): string | undefined {
    return basename(this.root) === env ? this.root : undefined;
  }

  release(env: string, id: string): Promise<boolean> {
    return releaseLockFile(this.path(env), id);
  }

  async break(env: string, id: string): Promise<LockInfo> {
    const removed = await removeIf(this.path(env), id);
    if (removed) return removed;
    const held = await readLockFile(this.path(env));
    if (held === null) throw new Error(`environment ${env} is not locked`);
    const heldId = held === 'unreadable' ? UNREADABLE : held.id;
    throw new Error(`environment ${env} is locked with id ${heldId}, not ${id}; nothing broken`);
  }

  async current(env: string): Promise<LockInfo | null> {
    const held = await readLockFile(this.path(env));
    if (held === 'unreadable') return { id: UNREADABLE, env, holder: UNREADABLE, since: '', pid: 0, host: '' };
    return held;
  }
}

/** The default store for an environment folder and the lock name it uses (the folder's name). */
export function envLockStore(envDir: string): { store: FileLockStore; env: string } {
  return { store: new FileLockStore(envDir), env: basename(resolve(envDir)) };
}

/**
 * Take the locks of several environments (sorted, so two applies never
 * deadlock); on failure release what was taken and throw LocksHeldError
 * naming every environment that is locked, not only the first one met.
 */
export async function acquireAll(
  items: { store: LockStore; env: string }[],
  opts: AcquireOptions,
): Promise<{ release(): Promise<void>; held: LockInfo[] }> {
  const sorted = [...items].sort((a, b) => (a.env < b.env ? -1 : a.env > b.env ? 1 : 0));
  const held: { store: LockStore; info: LockInfo }[] = [];
  const release = async () => {
    for (const h of [...held].reverse()) await h.store.release(h.info.env, h.info.id).catch(() => false);
  };
  try {
    for (const it of sorted) held.push({ store: it.store, info: await it.store.acquire(it.env, opts) });
  } catch (e) {
    await release();
    if (!(e instanceof LockHeldError)) throw e;
    const locked = [e];
    for (const it of sorted.slice(held.length + 1)) {
      const info = await it.store.current(it.env).catch(() => null);
      if (info) locked.push(new LockHeldError(it.env, info.id === UNREADABLE ? null : info, undefined, it.store.unlockDir?.(it.env)));
    }
    throw new LocksHeldError(locked);
  }
  return { release, held: held.map((h) => h.info) };
}
