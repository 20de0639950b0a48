/**
 * Stage 5: the dependency graph. Nodes are addresses; an edge a -> b means
 * "a depends on b" (b first). Used for resources at validate time (cycles are
 * diagnostics) and for changes at apply time (the walk order).
 */

export class Graph {
  readonly deps = new Map<string, Set<string>>();

  addNode(n: string): void {
    if (!this.deps.has(n)) this.deps.set(n, new Set());
  }

  addEdge(from: string, to: string): void {
    this.addNode(from);
    this.addNode(to);
    if (from !== to) this.deps.get(from)!.add(to);
  }

  /** Nodes that depend on `n`, transitively. */
  dependents(n: string): Set<string> {
    const rev = new Map<string, string[]>();
    for (const [a, bs] of this.deps) for (const b of bs) (rev.get(b) ?? rev.set(b, []).get(b)!).push(a);
    const out = new Set<string>();
    const stack = [n];
    while (stack.length) {
      for (const d of rev.get(stack.pop()!) ?? []) if (!out.has(d)) (out.add(d), stack.push(d));
    }
    return out;
  }

  /** Every cycle found, each as the list of nodes along it (first node repeated at the end). */
  cycles(): string[][] {
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const found: string[][] = [];
    const seen = new Set<string>();
    const visit = (n: string): void => {
      state.set(n, 1);
      stack.push(n);
      for (const d of this.deps.get(n) ?? []) {
        const s = state.get(d);
        if (s === 1) {
          const cyc = stack.slice(stack.indexOf(d));
          const key = [...cyc].sort().join('|');
          if (!seen.has(key)) (seen.add(key), found.push([...cyc, d]));
        } else if (!s) visit(d);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of [...this.deps.keys()].sort()) if (!state.has(n)) visit(n);
    return found;
  }

  /** Topological order, dependencies first. Throws on a cycle (validate reports cycles before this is used). */
  order(): string[] {
    const out: string[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (n: string): void => {
      const s = state.get(n);
      if (s === 2) return;
      if (s === 1) throw new Error(`dependency cycle through ${n}`);
      state.set(n, 1);
      for (const d of [...(this.deps.get(n) ?? [])].sort()) visit(d);
      state.set(n, 2);
      out.push(n);
    };
    for (const n of [...this.deps.keys()].sort()) visit(n);
    return out;
  }
}
