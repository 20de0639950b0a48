/**
 * One switch, one transaction, automatic rollback — the flow both switch
 * drivers share. A driver supplies the device steps (TransactionDevice); this
 * module decides their order and what a failure means:
 *
 *   snapshot -> begin (revert timer / auto checkpoint) -> apply ops
 *   -> verify the management path -> confirm -> save
 *
 * Any failure before the confirmation rolls back: first explicitly on the
 * session if it still answers; otherwise by waiting for the device's own
 * timer (the change cut the path, or the connection dropped) and reconnecting
 * until the device answers again. The rollback counts as done only when the
 * configuration read back equals the snapshot.
 */
import { DriverError } from '../../engine/types.js';
import { cloneConfig, describeConfigDifference, sameConfig, type SwitchConfig, type SwitchOp } from './model.js';

export interface TransactionDevice {
  /** Full configuration read on the current session. */
  readConfig(): Promise<SwitchConfig>;
  /** Start the automatic-rollback window. */
  begin(): Promise<void>;
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
}

export interface TransactionOptions {
  /** Target address, for messages. */
  target: string;
  /** How long to wait, at most, for the device to roll back by itself (ms). */
  revertWaitMs: number;
  pollMs?: number;
  log?: (msg: string) => void;
}

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

/**
 * Apply `ops` as one transaction. Resolves when the change is confirmed and
 * saved; rejects with a DriverError whose `rolledBack` says whether the switch
 * was verified to be back in its previous configuration.
 */
export async function runTransaction(dev: TransactionDevice, ops: SwitchOp[], o: TransactionOptions): Promise<void> {
  if (ops.length === 0) return;
  const before = cloneConfig(await dev.readConfig());
  try {
    await dev.begin();
  } catch (err) {
    throw new DriverError(`${o.target}: could not start the transaction (${message(err)}); nothing was changed`, {
      rolledBack: true,
      code: 'E_NET_BEGIN',
    });
  }
  let stage = 'apply';
  try {
    await dev.apply(ops);
    stage = 'management check';
    await dev.verifyManagement();
    stage = 'confirm';
    await dev.confirm();
  } catch (err) {
    const why = message(err);
    o.log?.(`${o.target}: ${stage} failed: ${why}; rolling back`);
    const r = await rollback(dev, before, o);
    throw new DriverError(
      r.ok
        ? `${o.target}: ${stage} failed (${why}); rolled back, the switch is in its previous configuration`
        : `${o.target}: ${stage} failed (${why}); ROLLBACK NOT VERIFIED (${r.detail}) - check the switch`,
      { rolledBack: r.ok, code: stage === 'apply' ? 'E_NET_APPLY' : stage === 'confirm' ? 'E_NET_COMMIT' : 'E_NET_MGMT_LOST' },
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
