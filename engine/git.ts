/** The git revision the manifests come from, recorded in every plan. */
import { execFileSync } from 'node:child_process';

export function gitSource(dirs: string[]): { gitRevision: string | null; dirty: boolean } {
  const cwd = dirs[0] ?? process.cwd();
  const git = (args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
  try {
    const rev = git(['rev-parse', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', ...dirs]).length > 0;
    return { gitRevision: rev, dirty };
  } catch {
    return { gitRevision: null, dirty: false };
  }
}
