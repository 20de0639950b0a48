/** Git as the engine asks it: the repository a folder is in, and the revision the manifests come from. */
import { execFile, execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

/** The git top level of `dir` (a real path), or null outside git. */
export function gitTopLevel(dir: string): string | null {
  try {
    return realpathSync(execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim());
  } catch {
    return null;
  }
}

function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, timeout: 5000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout.toString().trim())));
  });
}

/**
 * HEAD and whether the environments' folders have uncommitted changes.
 * Asynchronous so that a plan asks git while it reads the devices.
 */
export async function gitSource(dirs: string[]): Promise<{ gitRevision: string | null; dirty: boolean }> {
  const cwd = dirs[0] ?? process.cwd();
  try {
    const [rev, status] = await Promise.all([git(['rev-parse', 'HEAD'], cwd), git(['status', '--porcelain', '--', ...dirs], cwd)]);
    return { gitRevision: rev, dirty: status.length > 0 };
  } catch {
    return { gitRevision: null, dirty: false };
  }
}
