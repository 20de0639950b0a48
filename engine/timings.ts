/**
 * Where a run's time goes: consecutive stages with their wall clock and this
 * process's CPU (user + system), plus per-target sums (connect, read) that
 * overlap in wall time. The CLI prints them with EINKLANG_TIMINGS=1 and
 * `npm run bench` reads them; nothing is ever asserted on them.
 *
 * The first stage, `startup`, is everything from process start to the first
 * mark: Node's bootstrap and the loading of the modules the verb needs.
 */
import { performance } from 'node:perf_hooks';

export interface StageTiming {
  stage: string;
  wallMs: number;
  cpuMs: number;
}

class Timings {
  private stages: StageTiming[] = [];
  private current: { stage: string; wall: number; cpu: NodeJS.CpuUsage } | undefined;
  private sums = new Map<string, { ms: number; count: number }>();

  /** Ends the running stage and starts `stage`. The first call also records `startup`. */
  mark(stage: string): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (!this.current) {
      this.stages.push({ stage: 'startup', wallMs: now, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else {
      const d = process.cpuUsage(this.current.cpu);
      this.stages.push({ stage: this.current.stage, wallMs: now - this.current.wall, cpuMs: (d.user + d.system) / 1000 });
    }
    this.current = { stage, wall: now, cpu };
  }

  /** Adds to a per-target sum (`connect`, `read`): those run concurrently, so they are reported apart from the stages. */
  add(name: string, ms: number): void {
    const s = this.sums.get(name) ?? { ms: 0, count: 0 };
    s.ms += ms;
    s.count++;
    this.sums.set(name, s);
  }

  /** Closes the running stage and returns the stages and the sums. */
  report(): { stages: StageTiming[]; sums: { name: string; ms: number; count: number }[] } {
    if (this.current) this.mark('(end)');
    const stages = this.stages.filter((s) => s.stage !== '(end)');
    return { stages, sums: [...this.sums].map(([name, s]) => ({ name, ...s })) };
  }
}

export const timings = new Timings();

/** One line per stage, for stderr: `einklang: timing <stage> wall=<ms> cpu=<ms>`. */
export function formatTimings(): string[] {
  const r = timings.report();
  return [
    ...r.stages.map((s) => `einklang: timing ${s.stage} wall=${s.wallMs.toFixed(1)} cpu=${s.cpuMs.toFixed(1)}`),
    ...r.sums.map((s) => `einklang: timing-sum ${s.name} total=${s.ms.toFixed(1)} count=${s.count}`),
  ];
}
