/**
 * One switch, one transaction, automatic rollback — the flow both switch
 * drivers share. A driver supplies the device steps (TransactionDevice); this
 * module decides their order and what a failure means:
 *
 *   snapshot -> begin (prechecks, revert timer / auto checkpoint) -> apply ops
 *   -> read back and compare with the plan -> verify the management path
 *   -> confirm -> save
 *
 * The read-back compares every object the ops touched with what the plan
 * asked for: a command the switch silently ignored (or half-applied) is a
 * difference, and a difference rolls back before anything is confirmed or
 * saved.
 *
 * Any failure before the confirmation rolls back: first explicitly on the
 * session if it still answers; otherwise by waiting for the device's own
 * timer (the change cut the path, or the connection dropped) and reconnecting
 * until the device answers again. The rollback counts as done only when the
 * configuration read back equals the snapshot.
 */
import { DriverError } from '../../engine/types.js';
import { applyOpsToConfig, cloneConfig, describeConfigDifference, portState, sameConfig, type PortConfig, type SwitchConfig, type SwitchOp } from './model.js';

export interface TransactionDevice {
  /** Full configuration read on the current session. */
  readConfig(): Promise<SwitchConfig>;
  /** The platform's default port (what `port-default` leaves). */
  portDefault(): PortConfig;
  /** Bring a port into the form the platform stores (AOS-CX: one VLAN tag). */
  normalizePort?(p: PortConfig): PortConfig;
  /**
   * Check that `ops` can be applied with a working rollback, then start the
   * automatic-rollback window. A DriverError from the checks keeps its code
   * (E_NET_ARCHIVE, E_NET_VTP, ...); nothing may have changed when it throws.
   */
  begin(ops: SwitchOp[]): Promise<void>;
  apply(ops: SwitchOp[]): Promise<void>;
  /** The current session still answers and a fresh session can be opened. */
  verifyManagement(): Promise<void>;
  /** Cancel the automatic rollback: the change stays. */
  confirm(): Promise<void>;
  /** Make the running configuration the startup configuration. */
  save(): Promise<void>;
  /** Roll back at once (on whichever session is current). */
  revertNow(): Promise<void>;
  /** Drop the current session and open a new one. */
  reconnect(): Promise<void>;
  /** After a verified rollback: remove what begin() left on the switch (AOS-CX: the named checkpoint). Best effort. */
  cleanup?(): Promise<void>;
  /** Where the configuration from before the change is kept on the switch, for a rollback that could not be verified. */
  recoveryHint?(): string;
}

export interface TransactionOptions {
  /** Target address, for messages. */
  target: string;
  /** How long to wait, at most, for the device to roll back by itself (ms). */
  revertWaitMs: number;
  pollMs?: number;
  log?: (msg: string) => void;
}

const STAGE_CODES: Record<string, string> = { apply: 'E_NET_APPLY', 'read-back': 'E_NET_READBACK', confirm: 'E_NET_COMMIT' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function rollback(dev: TransactionDevice, before: SwitchConfig, o: TransactionOptions): Promise<{ ok: boolean; detail: string }> {
  let detail = '';
  try {
    await dev.revertNow();
    const now = await dev.readConfig();
    if (sameConfig(before, now)) return { ok: true, detail: 'reverted on the open session' };
    detail = describeConfigDifference(before, now);
  } catch (err) {
    detail = message(err);
    o.log?.(`${o.target}: session does not answer (${detail}); waiting for the switch to roll back by itself`);
  }
  const deadline = Date.now() + o.revertWaitMs;
  while (Date.now() < deadline) {
    await sleep(o.pollMs ?? 200);
    try {
      await dev.reconnect();
      // If only our connection dropped, the timer is still running: revert now rather than wait.
      await dev.revertNow().catch(() => undefined);
      const now = await dev.readConfig();
      if (sameConfig(before, now)) return { ok: true, detail: 'the switch rolled back' };
      detail = 'still differs: ' + describeConfigDifference(before, now);
    } catch (err) {
      detail = message(err);
    }
  }
  return { ok: false, detail };
}

/** What differs between the plan and the read-back, for the objects `ops` touched ('' when nothing). */
export function readbackDifference(dev: Pick<TransactionDevice, 'portDefault' | 'normalizePort'>, before: SwitchConfig, ops: SwitchOp[], now: SwitchConfig): string {
  const norm = (p: PortConfig) => (dev.normalizePort ? dev.normalizePort(p) : p);
  const want = cloneConfig(before);
  applyOpsToConfig(want, ops, () => dev.portDefault());
  const out: string[] = [];
  for (const o of ops) {
    if (o.op === 'vlan-set' || o.op === 'vlan-delete') {
      const id = String(o.id);
      const [a, b] = [want.vlans[id], now.vlans[id]];
      if (!a && b) out.push(`VLAN ${id} still present`);
      else if (a && !b) out.push(`VLAN ${id} missing`);
      else if (a && b && a.name !== b.name) out.push(`VLAN ${id} named ${b.name}, not ${a.name}`);
      continue;
    }
    const have = now.ports[o.port];
    if (!have) {
      out.push(`port ${o.port} missing`);
      continue;
    }
    const a = portState(norm(want.ports[o.port]));
    const b = portState(have);
    const fields = o.op === 'port-set' ? Object.keys(o.set) : Object.keys(a);
    const diff = fields.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
    if (diff.length) out.push(`port ${o.port}: ${diff.map((f) => `${f} is ${JSON.stringify(b[f])}, not ${JSON.stringify(a[f])}`).join(', ')}`);
  }
  return out.slice(0, 5).join('; ') + (out.length > 5 ? `; and ${out.length - 5} more` : '');
}

/**
 * Apply `ops` as one transaction. Resolves when the change is confirmed and
 * saved; rejects with a DriverError whose `rolledBack` says whether the switch
 * was verified to be back in its previous configuration.
 */
export async function runTransaction(dev: TransactionDevice, ops: SwitchOp[], o: TransactionOptions): Promise<void> {
  if (ops.length === 0) return;
  const before = cloneConfig(await dev.readConfig());
  try {
    await dev.begin(ops);
  } catch (err) {
    if (err instanceof DriverError && err.opts.code) throw new DriverError(`${o.target}: ${err.message}`, { rolledBack: true, code: err.opts.code });
    throw new DriverError(`${o.target}: could not start the transaction (${message(err)}); nothing was changed`, {
      rolledBack: true,
      code: 'E_NET_BEGIN',
    });
  }
  let stage = 'apply';
  try {
    await dev.apply(ops);
    stage = 'read-back';
    const diff = readbackDifference(dev, before, ops, await dev.readConfig());
    if (diff) throw new Error(`the switch's configuration differs from the plan: ${diff}`);
    stage = 'management check';
    await dev.verifyManagement();
    stage = 'confirm';
    await dev.confirm();
  } catch (err) {
    const why = message(err);
    o.log?.(`${o.target}: ${stage} failed: ${why}; rolling back`);
    const r = await rollback(dev, before, o);
    if (r.ok) await dev.cleanup?.().catch(() => undefined); // kept when the rollback is not verified: the operator may need it
    throw new DriverError(
      r.ok
        ? `${o.target}: ${stage} failed (${why}); rolled back, the switch is in its previous configuration`
        : `${o.target}: ${stage} failed (${why}); ROLLBACK NOT VERIFIED (${r.detail}) - check the switch${dev.recoveryHint ? `; ${dev.recoveryHint()}` : ''}`,
      { rolledBack: r.ok, code: STAGE_CODES[stage] ?? 'E_NET_MGMT_LOST' },
    );
  }
  try {
    await dev.save();
  } catch (err) {
    throw new DriverError(`${o.target}: change applied and confirmed, but saving it failed (${message(err)}); it is lost on reboot`, {
      rolledBack: false,
      code: 'E_NET_NOT_SAVED',
    });
  }
}

/** Run `fn` with a timeout; rejects with `what timed out`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}
