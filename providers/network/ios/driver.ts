/**
 * Driver `ios`: Cisco IOS / IOS-XE switches over an interactive SSH CLI.
 *
 * Read: one session, one batch of `show running-config`, `show vlan brief`,
 * `show interfaces switchport`.
 * Write: one transaction per switch —
 *   configure terminal revert timer N / the commands / end
 *   / check the management path (the open session and a fresh connection)
 *   / configure confirm / write memory.
 * On failure: `configure revert now` if the session still answers, otherwise
 * the switch's revert timer restores the old configuration by itself; the
 * driver reconnects until it can verify that.
 * (Real IOS needs `archive path ...` configured for the revert timer.)
 */
import { DriverError } from '../../../engine/types.js';
import type { SwitchConnectionSettings } from '../connection.js';
import type { SwitchConfig, SwitchOp } from '../model.js';
import { formatVlanList, iosLongName } from '../ports.js';
import { switchDriver } from '../switch-driver.js';
import type { TransactionDevice } from '../transaction.js';
import { switchConfigFromIos } from './parsers.js';
import { IosSession, iosError, type IosConnection } from './session.js';

async function readConfig(s: IosSession, label: string): Promise<SwitchConfig> {
  const [rc, vlan, sp] = await s.batch(['show running-config', 'show vlan brief', 'show interfaces switchport']);
  const err = iosError(rc) ?? iosError(vlan) ?? iosError(sp);
  if (err) throw new DriverError(`${label}: reading the configuration failed: ${err}`, { code: 'E_READ' });
  return switchConfigFromIos(rc, vlan, sp);
}

/** The IOS configuration commands for a list of operations (config mode, without `configure`/`end`). */
export function iosCommands(ops: SwitchOp[]): string[] {
  const out: string[] = [];
  for (const o of ops) {
    if (o.op === 'vlan-set') out.push(`vlan ${o.id}`, `name ${o.name}`, 'exit');
    else if (o.op === 'vlan-delete') out.push(`no vlan ${o.id}`);
    else if (o.op === 'port-default') out.push(`default interface ${iosLongName(o.port) ?? o.port}`);
    else {
      const s = o.set;
      out.push(`interface ${iosLongName(o.port) ?? o.port}`);
      if (s.description !== undefined) out.push(s.description === '' ? 'no description' : `description ${s.description}`);
      if (s.accessVlan !== undefined) out.push(`switchport access vlan ${s.accessVlan}`);
      if (s.nativeVlan !== undefined) out.push(`switchport trunk native vlan ${s.nativeVlan}`);
      if (s.allowedVlans !== undefined) {
        out.push(`switchport trunk allowed vlan ${s.allowedVlans === 'all' ? 'all' : s.allowedVlans.length ? formatVlanList(s.allowedVlans) : 'none'}`);
      }
      if (s.mode !== undefined) out.push(`switchport mode ${s.mode}`);
      if (s.enabled !== undefined) out.push(s.enabled ? 'no shutdown' : 'shutdown');
      out.push('exit');
    }
  }
  return out;
}

class IosTransaction implements TransactionDevice {
  constructor(
    private readonly conn: IosSessionHolder,
    private readonly settings: SwitchConnectionSettings,
  ) {}

  private get s(): IosSession {
    return this.conn.session;
  }

  async readConfig(): Promise<SwitchConfig> {
    if (!this.s.alive) await this.conn.reconnect(); // a former transaction lost the session
    return readConfig(this.s, this.conn.label);
  }

  async begin(): Promise<void> {
    const out = await this.s.run(`configure terminal revert timer ${this.settings.revertMinutes}`);
    const err = iosError(out);
    if (err) {
      await this.s.run('end').catch(() => undefined);
      throw new Error(err);
    }
  }

  async apply(ops: SwitchOp[]): Promise<void> {
    const cmds = [...iosCommands(ops), 'end'];
    // the switch echoes every line: a pause of verifyTimeoutMs means the path is gone, however long the batch
    const outs = await this.s.batch(cmds, this.settings.verifyTimeoutMs, true);
    for (let i = 0; i < cmds.length; i++) {
      const err = iosError(outs[i]);
      if (err) throw new Error(`"${cmds[i]}" was refused: ${err}`);
    }
  }

  async verifyManagement(): Promise<void> {
    const t = this.settings.verifyTimeoutMs;
    await this.s.run('show clock', t);
    const fresh = await IosSession.open(this.conn.conn, { timeoutMs: t, label: this.conn.label });
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
    const [, out] = await this.s.batch(['end', 'configure revert now'], this.settings.verifyTimeoutMs);
    const err = iosError(out);
    if (err && !/No Rollback Confirmed Change pending/i.test(err)) throw new Error(`configure revert now: ${err}`);
  }

  async reconnect(): Promise<void> {
    await this.conn.reconnect(this.settings.verifyTimeoutMs);
  }
}

/** The writer's current session; replaced when a transaction has to reconnect. */
class IosSessionHolder {
  constructor(
    public session: IosSession,
    readonly conn: IosConnection,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {}

  async reconnect(timeoutMs = this.timeoutMs): Promise<void> {
    this.session.close();
    this.session = await IosSession.open(this.conn, { timeoutMs, label: this.label });
  }
}

export const iosDriver = switchDriver<IosSessionHolder>({
  name: 'ios',
  async connect(target, settings, opts) {
    const c = target.connection;
    const conn: IosConnection = { host: c.host, port: c.port ?? 22, user: c.user, password: c.password, hostKeyFingerprint: c.hostKeyFingerprint };
    if (!conn.hostKeyFingerprint) throw new DriverError(`${target.address}: no hostKeyFingerprint pinned; refusing to connect`, { code: 'E_HOSTKEY_MISSING' });
    opts.log?.(`${target.address}: ssh ${conn.user}@${conn.host}:${conn.port}`);
    const session = await IosSession.open(conn, { timeoutMs: settings.timeoutMs, label: target.address });
    return new IosSessionHolder(session, conn, target.address, settings.timeoutMs);
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
