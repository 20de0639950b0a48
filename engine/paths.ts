/** Where the package's own files (schemas/, policies/) are, wherever it is installed. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) || !existsSync(join(d, 'schemas'))) {
    const up = dirname(d);
    if (up === d) throw new Error('einklang: cannot find the package root (schemas/)');
    d = up;
  }
  return d;
}

export const packageRoot = findRoot();
export const schemasDir = join(packageRoot, 'schemas');
export const engineVersion: string = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version;
