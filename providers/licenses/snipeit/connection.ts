/**
 * A snipeit connection's settings (port 443, 120 requests per minute) and
 * its static checks at validate time. No driver code: validate, and plans
 * that use no license server, load only this.
 */
import type { Diagnostic, Resource, TargetSpec } from '../../../engine/types.js';
import { DriverError } from '../../../engine/types.js';
import { diagnosticAt as diag } from '../../../engine/positions.js';
import { tlsPinProblem } from '../../kit/pinning.js';

/** Snipe-IT's default API_THROTTLE_PER_MINUTE (config/app.php). */
export const SNIPEIT_REQUESTS_PER_MINUTE = 120;

export interface SnipeitConnection {
  host: string;
  port: number;
  token: string;
  tlsFingerprint?: string;
  requestsPerMinute: number;
}

/** The connection a session uses (secrets resolved); E_CONNECTION / E_TLS_FINGERPRINT before anything is sent. */
export function snipeitConnection(target: TargetSpec): SnipeitConnection {
  const c = target.connection ?? {};
  if (typeof c.host !== 'string' || !c.host) throw new DriverError(`${target.address}: connection.host is required`, { code: 'E_CONNECTION' });
  if (typeof c.token !== 'string' || !c.token) throw new DriverError(`${target.address}: connection.token is required (a Snipe-IT personal access token)`, { code: 'E_CONNECTION' });
  const pin = tlsPinProblem(c.host, c.tlsFingerprint);
  if (pin) throw new DriverError(`${target.address}: ${pin}`, { code: 'E_TLS_FINGERPRINT' });
  const rpm = c.requestsPerMinute ?? SNIPEIT_REQUESTS_PER_MINUTE;
  if (!Number.isInteger(rpm) || rpm < 1) throw new DriverError(`${target.address}: connection.requestsPerMinute must be a positive whole number`, { code: 'E_CONNECTION' });
  return { host: c.host, port: Number(c.port ?? 443), token: c.token, tlsFingerprint: c.tlsFingerprint, requestsPerMinute: rpm };
}

/** Validate-time checks beyond the schema (which already demands a ${secret:NAME} token). */
export function validateSnipeitConnection(res: Resource): Diagnostic[] {
  const c = res.spec?.connection ?? {};
  if (typeof c.host !== 'string') return []; // the schema reports it
  const pin = tlsPinProblem(c.host, c.tlsFingerprint);
  return pin ? [diag(res, c.tlsFingerprint === undefined ? '/spec/connection/host' : '/spec/connection/tlsFingerprint', 'E_TLS_FINGERPRINT', `${res.address}: ${pin}`)] : [];
}
