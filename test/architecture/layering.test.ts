/**
 * The layering DESIGN.md promises, checked on the source tree so that it
 * stays true: `engine/` imports nothing from `providers/`, `policies/` or
 * `cli/` (it gets a Catalog from the composition root), and no module is
 * part of an import circle. Dynamic `import()` counts as well, and so do
 * type-only imports: a circle of types is still a circle in the design.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { packageRoot } from '../../engine/paths.js';

const ROOTS = ['engine', 'providers', 'policies', 'cli', 'bench', 'test'];
const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** module (path relative to the package, .ts) -> modules it imports */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const root of ROOTS) {
    for (const file of sources(join(packageRoot, root))) {
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      const deps: string[] = [];
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2];
        deps.push(relative(packageRoot, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))));
      }
      graph.set(relative(packageRoot, file), deps);
    }
  }
  return graph;
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('layering', () => {
  const graph = importGraph();

  it('engine/ imports nothing from providers/, policies/ or cli/', () => {
    const bad: string[] = [];
    for (const [mod, deps] of graph) {
      if (!mod.startsWith('engine/')) continue;
      for (const d of deps) if (/^(providers|policies|cli)\//.test(d)) bad.push(`${mod} -> ${d}`);
    }
    assert.deepEqual(bad, []);
  });

  it('providers/ and policies/ do not import cli/, and not each other', () => {
    const bad: string[] = [];
    for (const [mod, deps] of graph) {
      for (const d of deps) {
        if (/^(providers|policies)\//.test(mod) && d.startsWith('cli/')) bad.push(`${mod} -> ${d}`);
        if (mod.startsWith('providers/') && d.startsWith('policies/')) bad.push(`${mod} -> ${d}`);
        if (mod.startsWith('policies/') && d.startsWith('providers/')) bad.push(`${mod} -> ${d}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('the tree has no import circles', () => {
    assert.deepEqual(circles(graph), []);
  });

  it('the checker itself finds a circle and an engine import when there is one', () => {
    assert.deepEqual(circles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']], ['c.ts', ['a.ts']]])), [['a.ts', 'b.ts']]);
    const text = `import type { X } from '../providers/registry.js';\nexport * from './y.js';\nconst m = await import('../cli/z.js');`;
    const found = [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(found, ['../providers/registry.js', './y.js', '../cli/z.js']);
  });
});
