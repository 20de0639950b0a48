/**
 * An opnsense connection's settings (defaults: port 443, 30 s per request,
 * 120 s to wait for the firewall's own rollback) and its static checks at
 * validate time. No driver code: validate, and plans without a firewall,
 * load only this.
 */
import type { Diagnostic, Resource } from '../../../engine/model.js';
import type { SessionOptions, TargetSpec } from '../../../engine/contract.js';
import { DriverError } from '../../../engine/contract.js';
import { posOf } from '../../../engine/positions.js';
import { tlsPinProblem } from '../../kit/pinning.js';

export interface OpnsenseConnection {
  host: string;
  port: number;
  apiKey: string;
  apiSecret: string;
  tlsFingerprint?: string;
  /** Per request. */
  timeoutMs: number;
  /** The management check after apply (a fresh connection): short, since a cut path means waiting for nothing. */
  checkTimeoutMs: number;
  /** How long to wait, at most, for the firewall to roll back by itself after it stopped answering. */
  rollbackWaitMs: number;
  /** Firewall spec flags. */
  allowWithoutRollback: boolean;
}

/** Settings with defaults; a DriverError (E_CONNECTION, E_TLS_FINGERPRINT) for what cannot work. */
export function opnsenseConnection(target: TargetSpec, opts: SessionOptions = {}): OpnsenseConnection {
  const c = target.connection ?? {};
  if (typeof c.host !== 'string' || !c.host) throw new DriverError(`${target.address}: connection.host is required`, { code: 'E_CONNECTION' });
  for (const f of ['apiKey', 'apiSecret']) {
    if (typeof c[f] !== 'string' || !c[f]) throw new DriverError(`${target.address}: connection.${f} is required`, { code: 'E_CONNECTION' });
  }
  const pin = tlsPinProblem(c.host, c.tlsFingerprint);
  if (pin) throw new DriverError(`${target.address}: ${pin}`, { code: 'E_TLS_FINGERPRINT' });
  const timeoutMs = opts.timeoutMs ?? (typeof c.timeoutSeconds === 'number' ? c.timeoutSeconds * 1000 : 30_000);
  return {
    host: c.host,
    port: typeof c.port === 'number' ? c.port : 443,
    apiKey: c.apiKey,
    apiSecret: c.apiSecret,
    tlsFingerprint: c.tlsFingerprint,
    timeoutMs,
    checkTimeoutMs: Math.min(timeoutMs, 5_000),
    rollbackWaitMs: typeof c.rollbackWaitSeconds === 'number' ? c.rollbackWaitSeconds * 1000 : 120_000,
    allowWithoutRollback: target.spec?.allowWithoutRollback === true,
  };
}

/** Static checks of a Firewall's connection beyond the schema (validate time; no secret is read). */
export function validateOpnsenseConnection(res: Resource): Diagnostic[] {
  const c = res.spec?.connection ?? {};
  const out: Diagnostic[] = [];
  if (typeof c.host === 'string') {
    const pin = tlsPinProblem(c.host, c.tlsFingerprint);
    if (pin) out.push({ severity: 'error', code: 'E_TLS_FINGERPRINT', message: `${res.address}: ${pin}`, pos: posOf(res, c.tlsFingerprint === undefined ? '/spec/connection/host' : '/spec/connection/tlsFingerprint') });
  }
  const wait = c.rollbackWaitSeconds;
  if (typeof wait === 'number' && wait < 70) {
    out.push({
      severity: 'warning',
      code: 'W_FW_ROLLBACK_WAIT',
      message: `${res.address}: rollbackWaitSeconds ${wait} is shorter than OPNsense's rollback window (60 s) plus a reload; apply may give up before the firewall is back`,
      pos: posOf(res, '/spec/connection/rollbackWaitSeconds'),
    });
  }
  return out;
}
