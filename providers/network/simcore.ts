/**
 * What both switch simulators share: the configuration model (running and
 * startup), the automatic-rollback timer (IOS revert timer, AOS-CX auto
 * checkpoint), the management path, and fault injection. The protocol
 * front-ends (SSH CLI, HTTPS REST) sit on top of one SwitchSim each.
 */
import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { RunningSimulator } from '../../engine/types.js';
import { cloneConfig, type PortConfig, type SwitchConfig } from './model.js';

export interface SwitchSimFaults {
  /** Delay before every answer (ms). */
  latencyMs?: number;
  /** Drop the connection right after this many configuration writes (one-shot: cleared when it fires). */
  dropAfterWrites?: number;
  /** The confirm step (IOS `configure confirm`, AOS-CX auto-checkpoint confirm) fails. */
  failCommit?: boolean;
  /**
   * The port through which the engine reaches the switch. With the Switch's
   * `managementVlan`, a change that removes that VLAN, or takes it off this
   * port, or shuts the port, cuts the management path: the simulator stops
   * answering (existing sessions go silent, new connections are reset) until
   * the automatic rollback restores the configuration.
   */
  managementPort?: string;
  /** Length of one timer minute in ms (revert timer / auto checkpoint). Default 60000; the lab uses 5000. */
  minuteMs?: number;
  /** Port fields the switch accepts without error but does not change (a firmware that silently ignores a setting). */
  silentlyIgnore?: (keyof PortConfig)[];
  /** SSH CLI: the next line starting with this loses its last character before the switch reads it (input lost under load; one-shot). */
  lostInput?: string;
}

export interface SwitchSimInit {
  hostname: string;
  managementVlan?: number;
  ports: string[];
  portDefault: () => PortConfig;
  /** Bring a port into the form the platform can express (AOS-CX: one VLAN tag). */
  normalizePort?: (p: PortConfig) => PortConfig;
  /** The automatic rollback leaves VLANs as they are (IOS in VTP server/client mode keeps them in vlan.dat). */
  vlansSurviveRevert?: () => boolean;
  faults?: SwitchSimFaults;
}

/**
 * One simulated switch's state. Emits `reachability` (boolean) when the
 * management path goes away or comes back, and `reverted` when the timer
 * rolled the configuration back.
 */
export class SwitchSim extends EventEmitter {
  running: SwitchConfig;
  startup: SwitchConfig;
  readonly faults: SwitchSimFaults;
  readonly managementVlan?: number;
  /** Named checkpoints (AOS-CX fullconfigs). */
  readonly checkpoints = new Map<string, SwitchConfig>();
  /** Counters for tests and the bench. */
  readonly stats = { sessions: 0, commands: 0, writes: 0, reverts: 0, confirms: 0, saves: 0 };
  /** Sessions logged in and not yet logged out (AOS-CX REST), so tests can see a client that leaks them. */
  openSessions = 0;
  private pending?: { snapshot: SwitchConfig; timer: NodeJS.Timeout; expiresAt: number };
  private writesSinceDrop = 0;
  private readonly init: SwitchSimInit;

  constructor(init: SwitchSimInit) {
    super();
    this.init = init;
    this.faults = { ...(init.faults ?? {}) };
    this.managementVlan = init.managementVlan;
    const ports: Record<string, PortConfig> = {};
    for (const p of init.ports) ports[p] = init.portDefault();
    this.running = { hostname: init.hostname, vlans: { '1': { name: 'default' } }, ports };
    if (init.managementVlan && init.managementVlan !== 1) {
      this.running.vlans[String(init.managementVlan)] = { name: 'MGMT' };
      const mp = this.faults.managementPort;
      if (mp && ports[mp]) ports[mp] = this.norm({ ...ports[mp], mode: 'access', accessVlan: init.managementVlan });
    }
    this.startup = cloneConfig(this.running);
  }

  private norm(p: PortConfig): PortConfig {
    return this.init.normalizePort ? this.init.normalizePort(p) : p;
  }

  get minuteMs(): number {
    return this.faults.minuteMs ?? 60_000;
  }

  /** Can the engine reach the switch over its management VLAN? */
  reachable(): boolean {
    const mv = this.managementVlan;
    if (mv == null) return true;
    if (!this.running.vlans[String(mv)]) return false;
    const mp = this.faults.managementPort;
    if (!mp) return true;
    const p = this.running.ports[mp];
    if (!p || !p.enabled) return false;
    if (p.mode === 'trunk') return p.nativeVlan === mv || p.allowedVlans === 'all' || p.allowedVlans.includes(mv);
    return p.accessVlan === mv;
  }

  /** Run a configuration change; emits `reachability` when it cuts or restores the path. */
  private change(fn: () => void): void {
    const was = this.reachable();
    fn();
    const now = this.reachable();
    if (was !== now) this.emit('reachability', now);
  }

  /** Count a configuration write; true means "drop the connection now" (fault injection). */
  noteWrite(): boolean {
    this.stats.writes++;
    const n = this.faults.dropAfterWrites;
    if (n == null) return false;
    this.writesSinceDrop++;
    if (this.writesSinceDrop >= n) {
      this.writesSinceDrop = 0;
      delete this.faults.dropAfterWrites;
      return true;
    }
    return false;
  }

  setVlan(id: number, name: string): void {
    this.change(() => {
      this.running.vlans[String(id)] = { name };
    });
  }

  deleteVlan(id: number): string | undefined {
    if (id === 1) return 'Default VLAN 1 may not be deleted.';
    this.change(() => {
      delete this.running.vlans[String(id)];
    });
    return undefined;
  }

  hasPort(port: string): boolean {
    return port in this.running.ports;
  }

  setPort(port: string, set: Partial<PortConfig>): void {
    const applied = { ...set };
    for (const f of this.faults.silentlyIgnore ?? []) delete applied[f];
    this.change(() => {
      this.running.ports[port] = this.norm({ ...this.running.ports[port], ...applied });
    });
  }

  defaultPort(port: string): void {
    this.change(() => {
      this.running.ports[port] = this.init.portDefault();
      delete this.running.deviceAttributes?.ports?.[port];
    });
  }

  /** Attributes einklang does not manage, of one port (created on first use). */
  portAttributes(port: string): Record<string, unknown> {
    const d = (this.running.deviceAttributes ??= {});
    const ports = (d.ports ??= {});
    return (ports[port] ??= {});
  }

  replaceRunning(c: SwitchConfig): void {
    this.change(() => {
      this.running = cloneConfig(c);
    });
  }

  save(): void {
    this.stats.saves++;
    this.startup = cloneConfig(this.running);
  }

  // ------------------------------------------------ automatic rollback

  get revertPending(): boolean {
    return this.pending !== undefined;
  }

  /** Seconds until the pending rollback fires (in timer time, i.e. scaled minutes * 60). */
  revertRemainingSeconds(): number {
    if (!this.pending) return 0;
    return Math.max(0, Math.round(((this.pending.expiresAt - Date.now()) / this.minuteMs) * 60));
  }

  /** Start the rollback window: unless confirmed within `minutes`, the configuration returns to now. */
  beginRevert(minutes: number): string | undefined {
    if (this.pending) return 'A rollback-confirmed change is already pending.';
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 120) return 'Invalid timer value.';
    const ms = minutes * this.minuteMs;
    const snapshot = cloneConfig(this.running);
    const timer = setTimeout(() => this.revertNow(), ms);
    timer.unref?.();
    this.pending = { snapshot, timer, expiresAt: Date.now() + ms };
    return undefined;
  }

  confirm(): string | undefined {
    if (!this.pending) return 'No rollback-confirmed change pending.';
    if (this.faults.failCommit) return 'Commit failed: configuration archive is busy.';
    clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.stats.confirms++;
    return undefined;
  }

  revertNow(): string | undefined {
    const p = this.pending;
    if (!p) return 'No rollback-confirmed change pending.';
    clearTimeout(p.timer);
    this.pending = undefined;
    this.stats.reverts++;
    const restored = p.snapshot;
    if (this.init.vlansSurviveRevert?.()) restored.vlans = cloneConfig(this.running).vlans;
    this.replaceRunning(restored);
    this.emit('reverted');
    return undefined;
  }

  close(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.removeAllListeners();
  }
}

/** A running switch simulator; `model` is its SwitchSim (running/startup config, faults, stats). */
export interface RunningSwitchSimulator extends RunningSimulator {
  model: SwitchSim;
  /** The SSH (CLI) port where it differs from `port` (AOS-CX: REST on `port`, `checkpoint auto` over SSH here). */
  sshPort?: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A new TCP connection reaches the switch only while its management path is
 * up (otherwise it is reset); admitted sockets are tracked for stop().
 */
export function admitSocket(sim: SwitchSim, sockets: Set<Socket>, sock: Socket): boolean {
  sock.on('error', () => undefined);
  sock.setNoDelay(true);
  if (!sim.reachable()) {
    sock.destroy();
    return false;
  }
  sockets.add(sock);
  sock.on('close', () => sockets.delete(sock));
  return true;
}

/** Listen on host:port (0 = any free port); resolves with the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as { port: number }).port;
}
