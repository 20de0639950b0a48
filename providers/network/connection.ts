/** Connection settings and static connection checks shared by the switch drivers. */
import type { Diagnostic, Resource, SessionOptions, TargetSpec } from '../../engine/types.js';
import { diag } from './diag.js';

export interface SwitchConnectionSettings {
  /** Per-operation timeout. */
  timeoutMs: number;
  /** Timeout of the management check and of explicit rollback attempts. */
  verifyTimeoutMs: number;
  /** Revert timer / auto-checkpoint length in minutes (1-60). */
  revertMinutes: number;
  /** How long to wait, at most, for the switch to roll back by itself. */
  rollbackWaitMs: number;
  /** Switch `allowVlanChangesWithoutRollback`: IOS in VTP server mode may change VLANs the revert timer cannot undo. */
  allowVlanChangesWithoutRollback: boolean;
}

export function switchConnectionSettings(target: TargetSpec, opts: SessionOptions = {}): SwitchConnectionSettings {
  const c = target.connection ?? {};
  const timeoutMs = opts.timeoutMs ?? (typeof c.timeoutSeconds === 'number' ? c.timeoutSeconds * 1000 : 15_000);
  const revertMinutes = typeof c.revertMinutes === 'number' ? c.revertMinutes : 2;
  return {
    timeoutMs,
    verifyTimeoutMs: Math.min(timeoutMs, 5_000),
    revertMinutes,
    rollbackWaitMs: typeof c.rollbackWaitSeconds === 'number' ? c.rollbackWaitSeconds * 1000 : revertMinutes * 60_000 + 30_000,
    allowVlanChangesWithoutRollback: target.spec?.allowVlanChangesWithoutRollback === true,
  };
}

/**
 * Validate-time checks of a Switch's connection for one driver, beyond the
 * schema (which already requires the pin for the driver and a secret-reference
 * password): settings the driver would silently ignore.
 */
export function connectionDiagnostics(res: Resource, driver: 'ios' | 'aoscx'): Diagnostic[] {
  const c = res.spec?.connection ?? {};
  const out: Diagnostic[] = [];
  const unused = driver === 'ios' ? ['tlsFingerprint', 'apiVersion', 'sshPort'] : [];
  for (const k of unused) {
    if (c[k] !== undefined) out.push(diag(res, `/spec/connection/${k}`, 'W_NET_UNUSED', `driver ${driver} does not use ${k}`, 'warning'));
  }
  if (driver === 'aoscx' && res.spec?.allowVlanChangesWithoutRollback !== undefined) {
    out.push(diag(res, '/spec/allowVlanChangesWithoutRollback', 'W_NET_UNUSED', 'allowVlanChangesWithoutRollback is for IOS switches in VTP server mode', 'warning'));
  }
  return out;
}
