/**
 * An MdmTenant's connection (driver `intune`): its settings with defaults, the
 * hosts it contacts, and its static checks at validate time. No driver code:
 * validate and plans that do not use Intune load only this.
 *
 * Two hosts: Graph (`host`, default graph.microsoft.com) and the Entra ID token
 * endpoint (`loginHost`, default login.microsoftonline.com), each checked
 * against the environment's managementNetworks (DriverEntry.hosts) before
 * anything is sent. A lab tenant serves both on one loopback port.
 *
 * Pins: `tlsFingerprint` pins Graph's certificate and is required for loopback
 * hosts (DESIGN.md); `loginTlsFingerprint` pins the login host's and defaults
 * to `tlsFingerprint` when the login host is loopback too (the lab simulator
 * serves both with one certificate). Elsewhere the system CAs decide.
 */
import { DriverError, type TargetSpec } from '../../../engine/contract.js';
import type { Diagnostic, Resource } from '../../../engine/model.js';
import { posOf } from '../../../engine/positions.js';
import { isLoopbackHost, tlsPinProblem } from '../../kit/pinning.js';

export const DEFAULT_GRAPH_HOST = 'graph.microsoft.com';
export const DEFAULT_LOGIN_HOST = 'login.microsoftonline.com';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A tenant is named by its id or one of its verified domains (contoso.onmicrosoft.com). */
const TENANT_DOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const SECRET_REF = /^\$\{secret:[A-Za-z0-9_]+\}$/;

export interface IntuneConnection {
  host: string;
  port: number;
  loginHost: string;
  loginPort: number;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  tlsFingerprint?: string;
  loginTlsFingerprint?: string;
  /** OAuth2 scope: Graph's `.default` (of the national cloud when `host` names one). */
  scope: string;
  timeoutMs?: number;
}

/** Every host the driver contacts, defaults included (for managementNetworks). */
export function intuneHosts(c: Record<string, unknown>): { field: string; host: unknown }[] {
  return [
    { field: 'host', host: c.host ?? DEFAULT_GRAPH_HOST },
    { field: 'loginHost', host: c.loginHost ?? DEFAULT_LOGIN_HOST },
  ];
}

/** The scope Graph tokens are asked for: `https://<graph host>/.default`, Microsoft's global Graph for a lab (loopback) host. */
function scopeFor(host: string): string {
  return `https://${isLoopbackHost(host) ? DEFAULT_GRAPH_HOST : host}/.default`;
}

/** Connection settings with defaults; throws a DriverError naming what is wrong (the same checks as at validate time). */
export function intuneConnection(target: TargetSpec): IntuneConnection {
  const c = target.connection ?? {};
  const fail = (message: string, code = 'E_CONNECTION') => {
    throw new DriverError(`${target.address}: ${message}`, { code });
  };
  const host = String(c.host ?? DEFAULT_GRAPH_HOST);
  const loginHost = String(c.loginHost ?? DEFAULT_LOGIN_HOST);
  const tenantId = String(c.tenantId ?? '');
  if (!GUID.test(tenantId) && !TENANT_DOMAIN.test(tenantId)) fail('connection.tenantId must be the tenant id (a GUID) or one of its domains');
  if (!GUID.test(String(c.clientId ?? ''))) fail('connection.clientId must be the application (client) id, a GUID');
  if (typeof c.clientSecret !== 'string' || c.clientSecret === '') fail('connection.clientSecret is required');
  const loginPin = c.loginTlsFingerprint ?? (isLoopbackHost(loginHost) ? c.tlsFingerprint : undefined);
  const pin = tlsPinProblem(host, c.tlsFingerprint);
  if (pin) fail(pin, 'E_TLS_FINGERPRINT');
  const loginProblem = tlsPinProblem(loginHost, loginPin);
  if (loginProblem) fail(`login host: ${loginProblem}`, 'E_TLS_FINGERPRINT');
  return {
    host,
    port: Number(c.port ?? 443),
    loginHost,
    loginPort: Number(c.loginPort ?? 443),
    tenantId,
    clientId: String(c.clientId),
    clientSecret: c.clientSecret,
    tlsFingerprint: c.tlsFingerprint,
    loginTlsFingerprint: loginPin,
    scope: scopeFor(host),
    timeoutMs: c.timeoutSeconds ? Number(c.timeoutSeconds) * 1000 : undefined,
  };
}

/** Static checks of an intune connection at validate time (no network, no secrets). */
export function validateIntuneConnection(res: Resource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const c = (res.spec?.connection ?? {}) as Record<string, unknown>;
  const err = (field: string, code: string, message: string) => out.push({ severity: 'error', code, message: `${res.address}: ${message}`, pos: posOf(res, `/spec/connection/${field}`) });
  if (typeof c.tenantId === 'string' && !GUID.test(c.tenantId) && !TENANT_DOMAIN.test(c.tenantId)) err('tenantId', 'E_INTUNE_CONNECTION', 'connection.tenantId must be the tenant id (a GUID) or one of its domains (contoso.onmicrosoft.com)');
  if (typeof c.clientId === 'string' && !GUID.test(c.clientId)) err('clientId', 'E_INTUNE_CONNECTION', 'connection.clientId must be the application (client) id of the app registration, a GUID');
  if (c.clientSecret !== undefined && (typeof c.clientSecret !== 'string' || !SECRET_REF.test(c.clientSecret))) {
    err('clientSecret', 'E_PLAINTEXT_SECRET', 'connection.clientSecret must be a secret reference ${secret:NAME}, not a literal');
  }
  const host = String(c.host ?? DEFAULT_GRAPH_HOST);
  const loginHost = String(c.loginHost ?? DEFAULT_LOGIN_HOST);
  const pin = tlsPinProblem(host, c.tlsFingerprint);
  if (pin) err(c.tlsFingerprint === undefined ? 'host' : 'tlsFingerprint', 'E_TLS_FINGERPRINT', pin);
  const loginPin = c.loginTlsFingerprint ?? (isLoopbackHost(loginHost) ? c.tlsFingerprint : undefined);
  const loginProblem = tlsPinProblem(loginHost, loginPin);
  if (loginProblem && !(pin && loginPin === c.tlsFingerprint)) {
    err(c.loginTlsFingerprint === undefined ? 'loginHost' : 'loginTlsFingerprint', 'E_TLS_FINGERPRINT', `login host: ${loginProblem} (connection.loginTlsFingerprint)`);
  }
  return out;
}
