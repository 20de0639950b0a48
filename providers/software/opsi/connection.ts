/**
 * An OpsiServer's connection: the static checks `validate` runs (no network,
 * no secrets, no driver code loaded) and the settings the driver reads.
 */
import { DriverError, type SessionOptions, type TargetSpec } from '../../../engine/contract.js';
import type { Diagnostic, Resource } from '../../../engine/types.js';
import { diagnosticAt as diag } from '../../../engine/positions.js';
import { tlsPinProblem } from '../../kit/pinning.js';

/** opsiconfd's default port (opsiconfd config.py `--port`). */
export const OPSI_PORT = 4447;
/** Sessions one einklang process keeps open against one server; opsiconfd allows 30 per client address (`--max-session-per-ip`). */
export const DEFAULT_MAX_SESSIONS = 8;

export interface OpsiConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  tlsFingerprint?: string;
  timeoutMs: number;
  maxSessions: number;
}

/** Validate-time checks beyond the schema: the pin DESIGN.md requires for lab hosts, and its form. */
export function validateOpsiConnection(res: Resource): Diagnostic[] {
  const c = res.spec?.connection ?? {};
  if (typeof c.host !== 'string') return [];
  const problem = tlsPinProblem(c.host, c.tlsFingerprint);
  if (!problem) return [];
  const pointer = c.tlsFingerprint === undefined ? '/spec/connection' : '/spec/connection/tlsFingerprint';
  return [diag(res, pointer, 'E_OPSI_TLS_PIN', `${res.address}: ${problem}`)];
}

/** The settings of a target the engine hands over (secrets resolved); a DriverError for what validate would have refused. */
export function opsiConnection(target: TargetSpec, opts: SessionOptions = {}): OpsiConnection {
  const c = target.connection ?? {};
  const need = (k: string) => {
    if (typeof c[k] !== 'string' || c[k] === '') throw new DriverError(`${target.address}: connection.${k} is required`, { code: 'E_CONNECTION' });
    return c[k] as string;
  };
  const host = need('host');
  const pin = tlsPinProblem(host, c.tlsFingerprint);
  if (pin) throw new DriverError(`${target.address}: ${pin}`, { code: 'E_TLS_FINGERPRINT' });
  return {
    host,
    port: Number(c.port ?? OPSI_PORT),
    user: need('user'),
    password: need('password'),
    tlsFingerprint: c.tlsFingerprint,
    timeoutMs: opts.timeoutMs ?? (typeof c.timeoutSeconds === 'number' ? c.timeoutSeconds * 1000 : 60_000),
    maxSessions: typeof c.maxSessions === 'number' ? c.maxSessions : DEFAULT_MAX_SESSIONS,
  };
}
