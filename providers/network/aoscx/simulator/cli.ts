/**
 * The AOS-CX CLI of the simulator, as far as einklang uses it over SSH: the
 * auto checkpoint (`checkpoint auto <1-60>`, `checkpoint auto confirm`),
 * paging off and a liveness command. Output as the AOS-CX command reference
 * prints it (`checkpoint auto`, OS-CX 10.04: "Auto checkpoint mode expires in
 * 20 minute(s)", "checkpoint AUTO20170801011154 created", and on expiry
 * "WARNING: Restoring configuration. Do NOT add any new configuration." /
 * "Restoration successful"). The wording of the refusals (already in auto
 * mode, not in auto mode) is not documented: UNVERIFIED, chosen here.
 */
import type { CliResult, SimCli } from '../../sim-ssh.js';
import type { SwitchSim } from '../../simcore.js';

function stamp(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export class AoscxCli implements SimCli {
  constructor(private readonly sim: SwitchSim) {}

  prompt(): string {
    return `${this.sim.running.hostname}# `;
  }

  handle(line: string): CliResult {
    this.sim.stats.commands++;
    const t = line.trim().split(/\s+/).filter(Boolean);
    const text = t.join(' ');
    if (text === '') return { output: '' };
    if (text === 'no page' || /^terminal width \d+$/.test(text)) return { output: '' };
    if (text === 'show clock') return { output: `${new Date().toISOString().replace('T', ' ').slice(0, 19)}\nTime Zone : UTC\n` };
    if (text === 'exit') return { output: '', close: true };
    if (text === 'checkpoint auto confirm') {
      if (!this.sim.revertPending) return { output: 'Auto checkpoint mode is not enabled.\n' };
      const err = this.sim.confirm();
      if (err) return { output: `Failed to create checkpoint: ${err}\n` };
      return { output: `checkpoint AUTO${stamp()} created\n` };
    }
    const m = /^checkpoint auto (\S+)$/.exec(text);
    if (m) {
      const minutes = /^\d+$/.test(m[1]) ? Number(m[1]) : NaN;
      if (!(minutes >= 1 && minutes <= 60)) return { output: `Invalid input: ${m[1]}\n` };
      if (this.sim.revertPending) return { output: 'Auto checkpoint mode is already enabled.\n' };
      const err = this.sim.beginRevert(minutes);
      if (err) return { output: `${err}\n` };
      // the switch warns 2 minutes before the end: at once for a window of 1 or 2 minutes
      const warn = minutes <= 2 ? 'WARNING  Please "checkpoint auto confirm" within 2 minutes\n' : '';
      return { output: `Auto checkpoint mode expires in ${minutes} minute(s)\n${warn}` };
    }
    return { output: `Invalid input: ${t[0]}\n` };
  }
}
