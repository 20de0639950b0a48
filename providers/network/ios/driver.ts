/**
 * Driver `ios`: Cisco IOS / IOS-XE switches over an interactive SSH CLI.
 *
 * Read: one session, one batch of `show running-config`, `show vlan brief`,
 * `show interfaces switchport`, `show vtp status` (which ports exist, the VTP
 * mode, which ports negotiate their trunk encapsulation).
 *
 * Write: one transaction per switch (transaction.ts), with these IOS steps:
 * - prechecks before anything changes: `show archive` (the revert timer needs
 *   `archive` / `path flash:...`; without it IOS answers "%Please turn config
 *   archive on", napalm-automation/napalm napalm/ios/ios.py @ee70e63
 *   _check_archive_feature / commit_config), `show archive config rollback
 *   timer` (no other rollback-confirmed change pending, as napalm's
 *   has_pending_commit checks), and the VTP mode: in VTP server and client
 *   mode VLANs 1-1005 live in vlan.dat, outside the running-config, so the
 *   revert timer (an archive of the running-config) cannot undo a VLAN
 *   create, rename or delete, and a client refuses VLAN commands outright.
 *   VLAN changes there are refused before the timer starts, naming
 *   `vtp mode transparent` (or `off`), unless the Switch sets
 *   `allowVlanChangesWithoutRollback: true` (server mode only);
 * - `configure terminal revert timer N`, then the commands one VLAN or one
 *   interface at a time, each line's echo and output checked (errors.ts, like
 *   netmiko's send_config_set with cmd_verify); the first refusal stops the
 *   change and rolls back; `switchport trunk encapsulation dot1q` goes
 *   before `switchport mode trunk` on ports whose encapsulation is negotiated
 *   (ISL-capable platforms reject trunk mode otherwise with "Command rejected");
 * - the configuration read back and compared with the plan (transaction.ts),
 *   the management check, `configure confirm`, `write memory`.
 * On failure: `configure revert now` if the session still answers, otherwise
 * the switch's revert timer restores the old configuration by itself.
 */
import { DriverError } from '../../../engine/types.js';
import { CliSession, type CliConnection } from '../cli-session.js';
import type { SwitchConnectionSettings } from '../connection.js';
import { defaultPort, type PortConfig, type SwitchConfig, type SwitchFacts, type SwitchOp } from '../model.js';
import { formatVlanList, iosLongName } from '../ports.js';
import { switchDriver } from '../switch-driver.js';
import type { TransactionDevice } from '../transaction.js';
import { iosError } from './errors.js';
import { switchConfigFromIos } from './parsers.js';

const READ = ['show running-config', 'show vlan brief', 'show interfaces switchport', 'show vtp status'];

async function readConfig(s: CliSession, label: string): Promise<SwitchConfig> {
  const [rc, vlan, sp, vtp] = await s.batch(READ);
  const bad = [rc, vlan, sp].map(iosError).find(Boolean);
  if (bad) throw new DriverError(`${label}: reading the configuration failed: ${bad}`, { code: 'E_READ' });
  return switchConfigFromIos(rc, vlan, sp, iosError(vtp) ? '' : vtp); // a platform without VTP has no VTP mode to respect
}

/**
 * The IOS configuration commands for a list of operations (config mode,
 * without `configure`/`end`), one block per operation: a VLAN's or an
 * interface's lines go to the switch together, each line's echo and output
 * still checked on its own.
 */
export function iosCommandBlocks(ops: SwitchOp[], facts: SwitchFacts = {}): string[][] {
  const negotiated = new Set(facts.negotiatedEncapsulation ?? []);
  const out: string[][] = [];
  for (const o of ops) {
    if (o.op === 'vlan-set') out.push([`vlan ${o.id}`, `name ${o.name}`, 'exit']);
    else if (o.op === 'vlan-delete') out.push([`no vlan ${o.id}`]);
    else if (o.op === 'port-default') out.push([`default interface ${iosLongName(o.port) ?? o.port}`]);
    else {
      const s = o.set;
      const b = [`interface ${iosLongName(o.port) ?? o.port}`];
      if (s.description !== undefined) b.push(s.description === '' ? 'no description' : `description ${s.description}`);
      if (s.accessVlan !== undefined) b.push(`switchport access vlan ${s.accessVlan}`);
      if (s.nativeVlan !== undefined) b.push(`switchport trunk native vlan ${s.nativeVlan}`);
      if (s.allowedVlans !== undefined) {
        b.push(`switchport trunk allowed vlan ${s.allowedVlans === 'all' ? 'all' : s.allowedVlans.length ? formatVlanList(s.allowedVlans) : 'none'}`);
      }
      if (s.mode === 'trunk' && negotiated.has(o.port)) b.push('switchport trunk encapsulation dot1q');
      if (s.mode !== undefined) b.push(`switchport mode ${s.mode}`);
      if (s.enabled !== undefined) b.push(s.enabled ? 'no shutdown' : 'shutdown');
      b.push('exit');
      out.push(b);
    }
  }
  return out;
}

export function iosCommands(ops: SwitchOp[], facts: SwitchFacts = {}): string[] {
  return iosCommandBlocks(ops, facts).flat();
}

const touchesVlans = (ops: SwitchOp[]) => ops.some((o) => o.op === 'vlan-set' || o.op === 'vlan-delete');

/** Why this switch cannot take these ops with a working rollback, or undefined. */
function vtpRefusal(facts: SwitchFacts, ops: SwitchOp[], settings: SwitchConnectionSettings, name: string): string | undefined {
  if (!touchesVlans(ops)) return undefined;
  if (facts.vtpMode === 'client') {
    return `${name} is a VTP client: it refuses VLAN changes (they come from the VTP server). Change VLANs on the VTP server, or set \`vtp mode transparent\` (or \`vtp mode off\`) on ${name}`;
  }
  if (facts.vtpMode === 'server' && !settings.allowVlanChangesWithoutRollback) {
    return (
      `${name} is in VTP server mode: VLANs live in vlan.dat, outside the running-config, so the revert timer cannot roll back a VLAN change. ` +
      `Set \`vtp mode transparent\` (or \`vtp mode off\`) on ${name}, or accept the risk with allowVlanChangesWithoutRollback: true on the Switch`
    );
  }
  return undefined;
}

class IosTransaction implements TransactionDevice {
  private facts: SwitchFacts = {};

  constructor(
    private readonly conn: IosSessionHolder,
    private readonly settings: SwitchConnectionSettings,
  ) {}

  private get s(): CliSession {
    return this.conn.session;
  }

  portDefault(): PortConfig {
    return defaultPort('dynamic auto');
  }

  async readConfig(): Promise<SwitchConfig> {
    if (!this.s.alive) await this.conn.reconnect(); // a former transaction lost the session
    const c = await readConfig(this.s, this.conn.label);
    this.facts = c.facts ?? {};
    return c;
  }

  async begin(ops: SwitchOp[]): Promise<void> {
    const name = this.conn.name;
    const [archive, timer] = await this.s.batch(['show archive', 'show archive config rollback timer']);
    if (/Archive feature not enabled/i.test(archive)) {
      throw new DriverError(
        `${name} has no configuration archive, which the revert timer needs: configure \`archive\` with \` path flash:einklang-\` (and \` maximum 14\`) on the switch; nothing was changed`,
        { code: 'E_NET_ARCHIVE' },
      );
    }
    if (!/No Rollback Confirmed Change pending/i.test(timer)) {
      throw new DriverError(`${name}: another rollback-confirmed change is pending (${timer.trim().split('\n')[0]}); nothing was changed`, { code: 'E_NET_PENDING' });
    }
    const vtp = vtpRefusal(this.facts, ops, this.settings, name);
    if (vtp) throw new DriverError(`${vtp}; nothing was changed`, { code: 'E_NET_VTP' });
    const out = await this.s.run(`configure terminal revert timer ${this.settings.revertMinutes}`);
    const err = iosError(out);
    if (err) {
      await this.s.run('end').catch(() => undefined);
      if (/archive/i.test(err)) throw new DriverError(`${name}: the revert timer was refused (${err}): configure \`archive\` with \` path flash:einklang-\`; nothing was changed`, { code: 'E_NET_ARCHIVE' });
      throw new Error(`the revert timer was refused: ${err}`);
    }
  }

  async apply(ops: SwitchOp[]): Promise<void> {
    // block by block (one VLAN, one interface), every line's echo and output checked; the first refusal stops
    // the change (and rolls it back). A silence of verifyTimeoutMs means the path is gone.
    for (const block of [...iosCommandBlocks(ops, this.facts), ['end']]) {
      const outs = await this.s.batch(block, this.settings.verifyTimeoutMs);
      const i = outs.findIndex((o) => iosError(o));
      if (i >= 0) {
        await this.s.run('end', this.settings.verifyTimeoutMs).catch(() => undefined);
        throw new Error(`"${block[i]}" was refused: ${iosError(outs[i])}`);
      }
    }
  }

  async verifyManagement(): Promise<void> {
    const t = this.settings.verifyTimeoutMs;
    await this.s.run('show clock', t);
    const fresh = await this.conn.open(t);
    try {
      await fresh.run('show clock', t);
    } finally {
      fresh.close();
    }
  }

  async confirm(): Promise<void> {
    const err = iosError(await this.s.run('configure confirm'));
    if (err) throw new Error(`configure confirm: ${err}`);
  }

  async save(): Promise<void> {
    const out = await this.s.run('write memory');
    if (!/\[OK\]/.test(out)) throw new Error(`write memory: ${iosError(out) ?? out.trim()}`);
  }

  async revertNow(): Promise<void> {
    const t = this.settings.verifyTimeoutMs;
    await this.s.run('end', t); // leave configuration mode if a failed apply left the session there
    const err = iosError(await this.s.run('configure revert now', t));
    if (err && !/No Rollback Confirmed Change pending/i.test(err)) throw new Error(`configure revert now: ${err}`);
  }

  async reconnect(): Promise<void> {
    await this.conn.reconnect(this.settings.verifyTimeoutMs);
  }
}

/** The writer's current session; replaced when a transaction has to reconnect. */
class IosSessionHolder {
  constructor(
    public session: CliSession,
    readonly conn: CliConnection,
    readonly label: string,
    readonly name: string,
    private readonly timeoutMs: number,
  ) {}

  open(timeoutMs = this.timeoutMs): Promise<CliSession> {
    return openIos(this.conn, this.label, timeoutMs);
  }

  async reconnect(timeoutMs = this.timeoutMs): Promise<void> {
    this.session.close();
    this.session = await this.open(timeoutMs);
  }
}

function openIos(conn: CliConnection, label: string, timeoutMs: number): Promise<CliSession> {
  return CliSession.open(conn, { timeoutMs, label, setup: ['terminal length 0', 'terminal width 511'], requirePrivileged: true });
}

export const iosDriver = switchDriver<IosSessionHolder>({
  name: 'ios',
  async connect(target, settings, opts) {
    const c = target.connection;
    const conn: CliConnection = { host: c.host, port: c.port ?? 22, user: c.user, password: c.password, hostKeyFingerprint: c.hostKeyFingerprint };
    if (!conn.hostKeyFingerprint) throw new DriverError(`${target.address}: no hostKeyFingerprint pinned; refusing to connect`, { code: 'E_HOSTKEY_MISSING' });
    opts.log?.(`${target.address}: ssh ${conn.user}@${conn.host}:${conn.port}`);
    const session = await openIos(conn, target.address, settings.timeoutMs);
    return new IosSessionHolder(session, conn, target.address, target.name, settings.timeoutMs);
  },
  async readConfig(h) {
    if (!h.session.alive) await h.reconnect(); // a failed transaction may have lost the session
    return readConfig(h.session, h.label);
  },
  transaction: (h, settings) => new IosTransaction(h, settings),
  async close(h) {
    h.session.close();
  },
});
