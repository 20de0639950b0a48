/**
 * The IOS command interpreter of the simulator: exec and configuration
 * modes, the commands the driver uses (and the common abbreviations an
 * engineer types), `% Invalid input` for anything else.
 */
import type { CliResult, SimCli } from '../../sim-ssh.js';
import type { SwitchSim } from '../../simcore.js';
import { iosShortName, parseVlanList } from '../../ports.js';
import { renderRunningConfig, renderShowArchive, renderShowInterfacesSwitchport, renderShowVlanBrief, renderShowVtpStatus } from './render.js';

type Mode = 'exec' | 'config' | 'config-if' | 'config-vlan';

/** What kind of IOS switch this is (lab options; see index.ts). */
export interface IosPlatform {
  archive: boolean;
  vtpMode: 'server' | 'client' | 'transparent' | 'off';
  islCapable: boolean;
  informational: boolean;
  rejectCommands: string[];
}

/** How many characters of the hostname IOS shows in a configuration-mode prompt. */
const CONFIG_PROMPT_HOSTNAME = 20;
const VTP_CLIENT = 'VTP VLAN configuration not allowed when device is in CLIENT mode.\n';
const ISL_REJECT = 'Command rejected: An interface whose trunk encapsulation is "Auto" can not be configured to "trunk" mode.\n';

const INVALID = "% Invalid input detected at '^' marker.\n";
const INCOMPLETE = '% Incomplete command.\n';

/**
 * Does `tokens` start with the keywords of `pattern`, each token an
 * abbreviation (prefix) of its keyword? Returns the remaining tokens, or null.
 */
function kw(tokens: string[], pattern: string): string[] | null {
  const words = pattern.split(' ');
  if (tokens.length < words.length) return null;
  for (let i = 0; i < words.length; i++) {
    const t = tokens[i].toLowerCase();
    const min = i === 0 ? Math.min(2, words[i].length) : 1;
    if (!(t.length >= min && words[i].startsWith(t))) return null;
  }
  return tokens.slice(words.length);
}

function vlanId(s: string | undefined): number | undefined {
  if (!s || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 4094 ? n : undefined;
}

export class IosCli implements SimCli {
  mode: Mode = 'exec';
  private iface?: string;
  private vlan?: number;

  constructor(
    private readonly sim: SwitchSim,
    private readonly platform: IosPlatform = { archive: true, vtpMode: 'transparent', islCapable: false, informational: false, rejectCommands: [] },
  ) {}

  prompt(): string {
    const h = this.sim.running.hostname;
    return this.mode === 'exec' ? `${h}#` : `${h.slice(0, CONFIG_PROMPT_HOSTNAME)}(${this.mode})#`;
  }

  private get vlansInVlanDat(): boolean {
    return this.platform.vtpMode === 'server' || this.platform.vtpMode === 'client';
  }

  private encapsulation(port: string): string {
    if (!this.platform.islCapable) return 'dot1q';
    return String(this.sim.running.deviceAttributes?.ports?.[port]?.encapsulation ?? 'negotiate');
  }

  /** Handle one input line. */
  handle(line: string): CliResult {
    this.sim.stats.commands++;
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line)) return { output: INVALID };
    const text = line.trim();
    if (text === '') return { output: '' };
    const tokens = text.split(/\s+/);
    if (this.mode === 'exec') return this.exec(tokens, text);
    let rest = kw(tokens, 'do');
    if (rest && rest.length) return this.exec(rest, rest.join(' '));
    if (this.platform.rejectCommands.some((c) => text.toLowerCase().startsWith(c.toLowerCase()))) {
      return { output: `Command rejected: "${text}" is not supported on this platform.\n` };
    }
    if (kw(tokens, 'end')) {
      this.mode = 'exec';
      return { output: '' };
    }
    if (kw(tokens, 'exit')) {
      const wasVlan = this.mode === 'config-vlan';
      this.mode = this.mode === 'config' ? 'exec' : 'config';
      return { output: wasVlan && this.platform.informational ? '% Applying VLAN changes may take few minutes.  Please wait...\n' : '' };
    }
    if (this.mode === 'config-if') {
      const r = this.configIf(tokens, text);
      if (r) return r;
    } else if (this.mode === 'config-vlan') {
      const r = this.configVlan(tokens);
      if (r) return r;
    }
    // like IOS: a command unknown in a sub-mode is tried in global configuration
    const r = this.config(tokens);
    if (r) return r;
    return { output: INVALID };
  }

  private write(out = ''): CliResult {
    return this.sim.noteWrite() ? { output: '', drop: true } : { output: out };
  }

  private exec(tokens: string[], text: string): CliResult {
    let rest: string[] | null;
    if (kw(tokens, 'terminal length') || kw(tokens, 'terminal width') || kw(tokens, 'terminal no monitor')) return { output: '' };
    if ((rest = kw(tokens, 'show running-config'))) {
      const base = text.split('|')[0].trim().split(/\s+/);
      const after = kw(base, 'show running-config')!;
      if (after.length === 0) return { output: renderRunningConfig(this.sim.running, undefined, this.platform) };
      const r2 = kw(after, 'interface');
      const name = r2 && r2.length ? iosShortName(r2.join('')) : undefined;
      if (!name || !this.sim.hasPort(name)) return { output: INVALID };
      return { output: renderRunningConfig(this.sim.running, name, this.platform) };
    }
    if ((rest = kw(tokens, 'show vlan'))) {
      if (rest.length === 0 || kw(rest, 'brief')) return { output: renderShowVlanBrief(this.sim.running) };
      return { output: INVALID };
    }
    if ((rest = kw(tokens, 'show interfaces'))) {
      if (kw(rest, 'switchport')) return { output: renderShowInterfacesSwitchport(this.sim.running, undefined, this.platform) };
      const last = rest[rest.length - 1];
      const name = rest.length >= 2 && kw([last], 'switchport') ? iosShortName(rest.slice(0, -1).join('')) : undefined;
      if (name && this.sim.hasPort(name)) return { output: renderShowInterfacesSwitchport(this.sim.running, name, this.platform) };
      return { output: INVALID };
    }
    if (kw(tokens, 'show clock')) return { output: `*${new Date().toISOString().slice(11, 23)} UTC ${new Date().toDateString()}\n` };
    if (kw(tokens, 'show version')) {
      return { output: `Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE SOFTWARE (fc1)\n${this.sim.running.hostname} uptime is 1 week\n` };
    }
    if (kw(tokens, 'show vtp status')) return { output: renderShowVtpStatus(this.sim.running, this.platform.vtpMode) };
    if (kw(tokens, 'show archive config rollback timer')) {
      return { output: this.sim.revertPending ? `Timer value: ${this.sim.revertRemainingSeconds()} seconds remaining\n` : '%No Rollback Confirmed Change pending\n' };
    }
    if ((rest = kw(tokens, 'configure terminal'))) {
      if (rest.length) {
        const r = kw(rest, 'revert timer');
        const minutes = r && r.length === 1 && /^\d+$/.test(r[0]) ? Number(r[0]) : NaN;
        if (!r || isNaN(minutes)) return { output: INVALID };
        if (!this.platform.archive) return { output: '%Please turn config archive on\n' };
        const err = this.sim.beginRevert(minutes);
        if (err) return { output: `% ${err}\n` };
      }
      this.mode = 'config';
      return { output: 'Enter configuration commands, one per line.  End with CNTL/Z.\n' };
    }
    if (kw(tokens, 'show archive') && tokens.length === 2) return { output: renderShowArchive(this.platform.archive) };
    if (kw(tokens, 'configure confirm')) {
      const err = this.sim.confirm();
      return { output: err ? `% ${err}\n` : '' };
    }
    if (kw(tokens, 'configure revert now')) {
      const err = this.sim.revertNow();
      return { output: err ? `% ${err}\n` : 'Rollback Done\n' };
    }
    if (kw(tokens, 'write memory') || kw(tokens, 'copy running-config startup-config')) {
      this.sim.save();
      return { output: 'Building configuration...\n[OK]\n' };
    }
    if (kw(tokens, 'enable')) return { output: '' };
    if (kw(tokens, 'exit') || kw(tokens, 'logout') || kw(tokens, 'quit')) return { output: '', close: true };
    if (kw(tokens, 'show') || kw(tokens, 'configure') || kw(tokens, 'terminal')) return { output: tokens.length < 2 ? INCOMPLETE : INVALID };
    return { output: INVALID };
  }

  private config(tokens: string[]): CliResult | undefined {
    let rest: string[] | null;
    if ((rest = kw(tokens, 'vlan'))) {
      const id = vlanId(rest[0]);
      if (id === undefined || rest.length !== 1) return { output: INVALID };
      if (this.platform.vtpMode === 'client') return { output: VTP_CLIENT };
      if (id > 1005 && this.vlansInVlanDat) return { output: '% Extended VLAN(s) not allowed in current VTP mode.\n' };
      if (!this.sim.running.vlans[String(id)]) {
        this.sim.setVlan(id, `VLAN${String(id).padStart(4, '0')}`);
        const w = this.write();
        if (w.drop) return w;
      }
      this.vlan = id;
      this.mode = 'config-vlan';
      return { output: '' };
    }
    if ((rest = kw(tokens, 'no vlan'))) {
      const id = vlanId(rest[0]);
      if (id === undefined || rest.length !== 1) return { output: INVALID };
      if (this.platform.vtpMode === 'client') return { output: VTP_CLIENT };
      const err = this.sim.deleteVlan(id);
      if (err) return { output: `%${err}\n` };
      return this.write();
    }
    if ((rest = kw(tokens, 'interface'))) {
      const name = rest.length ? iosShortName(rest.join('')) : undefined;
      if (!name || !this.sim.hasPort(name)) return { output: INVALID };
      this.iface = name;
      this.mode = 'config-if';
      return { output: '' };
    }
    if ((rest = kw(tokens, 'default interface'))) {
      const name = rest.length ? iosShortName(rest.join('')) : undefined;
      if (!name || !this.sim.hasPort(name)) return { output: INVALID };
      this.sim.defaultPort(name);
      return this.write(`Interface ${name} set to default configuration\n`);
    }
    if ((rest = kw(tokens, 'hostname'))) {
      if (rest.length !== 1) return { output: INVALID };
      this.sim.running.hostname = rest[0];
      return this.write();
    }
    return undefined;
  }

  private configVlan(tokens: string[]): CliResult | undefined {
    const id = this.vlan!;
    let rest: string[] | null;
    if ((rest = kw(tokens, 'name'))) {
      if (rest.length !== 1 || rest[0].length > 32) return { output: INVALID };
      this.sim.setVlan(id, rest[0]);
      return this.write();
    }
    if (kw(tokens, 'no name')) {
      this.sim.setVlan(id, `VLAN${String(id).padStart(4, '0')}`);
      return this.write();
    }
    return undefined;
  }

  private configIf(tokens: string[], text: string): CliResult | undefined {
    const port = this.iface!;
    let rest: string[] | null;
    if ((rest = kw(tokens, 'description'))) {
      if (rest.length === 0) return { output: INCOMPLETE };
      const desc = text.replace(/^\S+\s+/, '');
      if (desc.length > 240) return { output: INVALID };
      this.sim.setPort(port, { description: desc });
      return this.write();
    }
    if (kw(tokens, 'no description')) {
      this.sim.setPort(port, { description: '' });
      return this.write();
    }
    if (kw(tokens, 'shutdown') && tokens.length === 1) {
      this.sim.setPort(port, { enabled: false });
      return this.write();
    }
    if (kw(tokens, 'no shutdown') && tokens.length === 2) {
      this.sim.setPort(port, { enabled: true });
      return this.write();
    }
    if ((rest = kw(tokens, 'switchport mode'))) {
      const m = rest.join(' ').toLowerCase();
      const mode = m === 'access' ? 'access' : m === 'trunk' ? 'trunk' : m === 'dynamic auto' ? 'dynamic auto' : m === 'dynamic desirable' ? 'dynamic desirable' : undefined;
      if (!mode) return { output: INVALID };
      if (mode === 'trunk' && this.encapsulation(port) === 'negotiate') return { output: ISL_REJECT };
      this.sim.setPort(port, { mode });
      return this.write();
    }
    if ((rest = kw(tokens, 'switchport access vlan'))) {
      const id = vlanId(rest[0]);
      if (id === undefined || rest.length !== 1) return { output: INVALID };
      let out = '';
      if (!this.sim.running.vlans[String(id)]) {
        this.sim.setVlan(id, `VLAN${String(id).padStart(4, '0')}`);
        out = `% Access VLAN does not exist. Creating vlan ${id}\n`;
      }
      this.sim.setPort(port, { accessVlan: id });
      return this.write(out);
    }
    if (kw(tokens, 'no switchport access vlan')) {
      this.sim.setPort(port, { accessVlan: 1 });
      return this.write();
    }
    if ((rest = kw(tokens, 'switchport trunk native vlan'))) {
      const id = vlanId(rest[0]);
      if (id === undefined || rest.length !== 1) return { output: INVALID };
      this.sim.setPort(port, { nativeVlan: id });
      return this.write();
    }
    if ((rest = kw(tokens, 'switchport trunk allowed vlan'))) {
      if (rest.length === 0) return { output: INCOMPLETE };
      const cur = this.sim.running.ports[port].allowedVlans;
      try {
        let next: number[] | 'all';
        const op = rest[0].toLowerCase();
        if ((op === 'add' || op === 'remove') && rest.length === 2) {
          const ids = parseVlanList(rest[1]);
          if (ids === 'all') return { output: INVALID };
          const base = cur === 'all' ? Array.from({ length: 4094 }, (_, i) => i + 1) : cur;
          next = op === 'add' ? [...new Set([...base, ...ids])].sort((a, b) => a - b) : base.filter((v) => !ids.includes(v));
          if (next.length === 4094) next = 'all';
        } else if (rest.length === 1) {
          next = parseVlanList(rest[0]);
        } else return { output: INVALID };
        if (next !== 'all' && next.some((v) => v < 1 || v > 4094)) return { output: INVALID };
        this.sim.setPort(port, { allowedVlans: next });
      } catch {
        return { output: INVALID };
      }
      return this.write();
    }
    if ((rest = kw(tokens, 'switchport trunk encapsulation'))) {
      const enc = rest.join(' ').toLowerCase();
      if (!this.platform.islCapable || !['dot1q', 'isl', 'negotiate'].includes(enc)) return { output: INVALID };
      this.sim.portAttributes(port).encapsulation = enc;
      return this.write();
    }
    if (kw(tokens, 'switchport') && tokens.length === 1) return { output: '' };
    return undefined;
  }
}
