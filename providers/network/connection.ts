/** Connection settings and static connection checks shared by the switch drivers. */
import type { Diagnostic, Resource, SessionOptions, TargetSpec } from '../../engine/types.js';
import { normaliseCertFingerprint } from '../lab/identity.js';
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
  };
}

const SECRET_REF = /^\$\{secret:[A-Za-z0-9_]+\}$/;

/** Validate-time checks of a Switch's connection for one driver. */
export function connectionDiagnostics(res: Resource, driver: 'ios' | 'aoscx'): Diagnostic[] {
  const c = res.spec?.connection ?? {};
  const out: Diagnostic[] = [];
  if (typeof c.password === 'string' && !SECRET_REF.test(c.password)) {
    out.push(diag(res, '/spec/connection/password', 'E_NET_PLAINTEXT_PASSWORD', 'the switch password must be a secret reference like ${secret:SWITCH_PASSWORD}, never a literal'));
  }
  if (driver === 'ios') {
    if (typeof c.hostKeyFingerprint !== 'string') {
      out.push(diag(res, '/spec/connection', 'E_NET_HOSTKEY_MISSING', 'driver ios needs connection.hostKeyFingerprint (SHA256:..., as ssh-keygen -lf prints it)'));
    } else if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(c.hostKeyFingerprint)) {
      out.push(diag(res, '/spec/connection/hostKeyFingerprint', 'E_NET_HOSTKEY_FORMAT', 'hostKeyFingerprint must look like SHA256: followed by 43 base64 characters'));
    }
    if (c.tlsFingerprint !== undefined) out.push(diag(res, '/spec/connection/tlsFingerprint', 'W_NET_UNUSED', 'driver ios does not use tlsFingerprint', 'warning'));
  } else {
    if (typeof c.tlsFingerprint !== 'string') {
      out.push(diag(res, '/spec/connection', 'E_NET_TLS_FINGERPRINT_MISSING', 'driver aoscx needs connection.tlsFingerprint (SHA-256 of the switch certificate)'));
    } else if (!/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/.test(normaliseCertFingerprint(c.tlsFingerprint))) {
      out.push(diag(res, '/spec/connection/tlsFingerprint', 'E_NET_TLS_FINGERPRINT_FORMAT', 'tlsFingerprint must be a SHA-256 fingerprint (64 hex digits, colons optional)'));
    }
    if (c.hostKeyFingerprint !== undefined) out.push(diag(res, '/spec/connection/hostKeyFingerprint', 'W_NET_UNUSED', 'driver aoscx does not use hostKeyFingerprint', 'warning'));
  }
  return out;
}
