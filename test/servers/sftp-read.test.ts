/**
 * The SFTP read path of the ssh driver (providers/servers/linux/sftp-read.ts)
 * against a scripted SFTP peer: every case where it must not answer itself
 * (a path swapped between lstat and open, an owner only NSS knows, a large
 * file) falls back to the read script, and a link at a managed path is
 * E_SYMLINK, never read. (The real sshd runs both paths through the whole
 * server conformance suite: test/servers/ssh-sshd.test.ts.)
 */
import assert from 'node:assert/strict';
import type { SFTPWrapper, Stats } from 'ssh2';
import { DriverError, objectKey } from '../../engine/types.js';
import { readOverSftp, SftpFallback, SFTP_READ_LIMIT } from '../../providers/servers/linux/sftp-read.js';

interface FakeNode {
  attrs: Partial<Stats> & { mode: number };
  data?: Buffer;
  /** What FSTAT of an open handle reports (default: attrs): a swap between lstat and open. */
  openedAs?: Partial<Stats> & { mode: number };
}

const file = (data: string, uid = 0, gid = 0, mode = 0o100644): FakeNode => ({ attrs: { mode, uid, gid, size: Buffer.byteLength(data), mtime: 1 }, data: Buffer.from(data) });
const ACCOUNTS: Record<string, FakeNode> = {
  '/etc/passwd': file('root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n'),
  '/etc/group': file('root:x:0:\nwww-data:x:33:\n'),
};

/** Enough of ssh2's SFTPWrapper for readOverSftp, over a map of paths. */
function fakeSftp(nodes: Record<string, FakeNode>): SFTPWrapper & { opened: string[] } {
  const all = { ...ACCOUNTS, ...nodes };
  const handles = new Map<string, FakeNode>();
  const opened: string[] = [];
  const stats = (a: Partial<Stats>) => ({ ...a }) as Stats;
  const noEntry = () => Object.assign(new Error('No such file'), { code: 2 });
  return {
    opened,
    lstat(path: string, cb: (e: Error | null, s?: Stats) => void) {
      const n = all[path];
      setImmediate(() => (n ? cb(null, stats(n.attrs)) : cb(noEntry())));
    },
    open(path: string, _flags: string, cb: (e: Error | null, h?: Buffer) => void) {
      opened.push(path);
      const n = all[path];
      const h = Buffer.from(path);
      if (n) handles.set(h.toString(), n);
      setImmediate(() => (n ? cb(null, h) : cb(noEntry())));
    },
    fstat(h: Buffer, cb: (e: Error | null, s?: Stats) => void) {
      const n = handles.get(h.toString())!;
      setImmediate(() => cb(null, stats(n.openedAs ?? n.attrs)));
    },
    read(h: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: (e: Error | null, n?: number) => void) {
      const n = handles.get(h.toString())!;
      const got = n.data!.copy(buf, off, pos, pos + len);
      setImmediate(() => cb(null, got));
    },
    close(_h: Buffer, cb: () => void) {
      setImmediate(cb);
    },
  } as unknown as SFTPWrapper & { opened: string[] };
}

describe('ssh driver: reading files over SFTP', () => {
  it('reads mode, owner, group and content of files and directories, and absent paths as null, without a command', async () => {
    const sftp = fakeSftp({
      '/etc/motd': file('hello\n', 33, 33, 0o100640),
      '/srv/www': { attrs: { mode: 0o040755, uid: 0, gid: 0, size: 4096, mtime: 1 } },
    });
    const r = await readOverSftp(sftp, [
      { kind: 'File', id: '/etc/motd', state: {} },
      { kind: 'Directory', id: '/srv/www', state: {} },
      { kind: 'File', id: '/etc/missing', state: {} },
      { kind: 'File', id: '/srv/www', state: {} },
    ]);
    assert.deepEqual(r.objects[objectKey('File', '/etc/motd')]?.state, { mode: '0640', owner: 'www-data', group: 'www-data', content: 'hello\n' });
    assert.deepEqual(r.objects[objectKey('Directory', '/srv/www')]?.state, { mode: '0755', owner: 'root', group: 'root' });
    assert.equal(r.objects[objectKey('File', '/etc/missing')], null);
    assert.deepEqual(r.objects[objectKey('File', '/srv/www')]?.state, { type: 'directory', mode: '0755', owner: 'root', group: 'root' }, 'a directory where a file is wanted: no content read');
    assert.deepEqual(sftp.opened.filter((p) => !p.startsWith('/etc/passwd') && !p.startsWith('/etc/group')), ['/etc/motd']);
  });

  it('refuses a link at a managed path and reads nothing through it', async () => {
    const sftp = fakeSftp({ '/etc/motd': { attrs: { mode: 0o120777, uid: 0, gid: 0, size: 11, mtime: 1 } } });
    await assert.rejects(readOverSftp(sftp, [{ kind: 'File', id: '/etc/motd', state: {} }]), (e: Error) => e instanceof DriverError && e.opts.code === 'E_SYMLINK' && /symbolic link/.test(e.message));
    assert.ok(!sftp.opened.includes('/etc/motd'));
  });

  it('falls back to the read script when the path changed between lstat and open (a link swapped in)', async () => {
    const swapped = file('user data\n', 1000, 1000);
    swapped.openedAs = { mode: 0o100640, uid: 0, gid: 42, size: 900, mtime: 5 }; // what /etc/shadow would show
    const sftp = fakeSftp({ '/home/u/.conf': swapped });
    await assert.rejects(readOverSftp(sftp, [{ kind: 'File', id: '/home/u/.conf', state: {} }]), (e: Error) => e instanceof SftpFallback && /changed between lstat and open/.test(e.message));
  });

  it('falls back when an owner is not in /etc/passwd (NSS), a file is large, or other kinds are asked for', async () => {
    await assert.rejects(readOverSftp(fakeSftp({ '/x': file('a', 5000, 0) }), [{ kind: 'File', id: '/x', state: {} }]), SftpFallback);
    const big = file('x'.repeat(SFTP_READ_LIMIT + 1));
    await assert.rejects(readOverSftp(fakeSftp({ '/big': big }), [{ kind: 'File', id: '/big', state: {} }]), SftpFallback);
    await assert.rejects(readOverSftp(fakeSftp({}), [{ kind: 'User', id: 'root', state: {} }]), SftpFallback);
  });
});
