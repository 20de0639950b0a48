/**
 * Entra ID for the simulated tenant: the OAuth2 client-credentials token
 * endpoint (`POST /{tenant}/oauth2/v2.0/token`, form client_id, client_secret,
 * scope, grant_type; corpus graph/common/token_client_credentials.json), the
 * bearer check Graph makes on every request, and the app's permissions.
 *
 * Refusals, as Entra ID and Graph word them:
 * - unknown tenant 400 `invalid_request` (AADSTS90002), unknown client 400
 *   `unauthorized_client` (AADSTS700016), wrong secret 401 `invalid_client`
 *   (AADSTS7000215), a scope without `/.default` 400 `invalid_scope`
 *   (AADSTS1002012), another grant type 400 `unsupported_grant_type`;
 * - Graph: no token, an unknown one or an expired one 401
 *   `InvalidAuthenticationToken` in Graph's error body;
 * - a missing application permission 403: Intune answers `Forbidden`
 *   "Application is not authorized to perform this operation. Application must
 *   have one of the following scopes: ...", the directory
 *   `Authorization_RequestDenied` "Insufficient privileges to complete the operation.".
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../../kit/clock.js';
import { jsonResponse, type SimRequest, type SimResponse } from '../../../kit/sim/types.js';
import { graphErrorBody } from './errors.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** Every application permission the intune driver needs (granted by default). */
export const ALL_ROLES = [
  'DeviceManagementManagedDevices.Read.All',
  'DeviceManagementConfiguration.ReadWrite.All',
  'DeviceManagementApps.ReadWrite.All',
  'Group.ReadWrite.All',
  'GroupMember.ReadWrite.All',
  'Device.Read.All',
];

export interface AppRegistration {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Granted application permissions (default ALL_ROLES). */
  roles?: string[];
  /** Token lifetime in seconds (Entra ID: 3599). */
  tokenLifetimeS?: number;
}

interface IssuedToken {
  expiresAt: number;
  roles: Set<string>;
}

function aadError(status: number, error: string, code: number, text: string): SimResponse {
  const trace = randomUUID();
  return jsonResponse(status, {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${trace}\r\nTimestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString(),
    trace_id: trace,
    correlation_id: trace,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

export class EntraId {
  private readonly tokens = new Map<string, IssuedToken>();
  /** Tokens issued so far. */
  issued = 0;
  roles: Set<string>;

  constructor(
    private readonly app: AppRegistration,
    private readonly clock: Clock,
  ) {
    this.roles = new Set(app.roles ?? ALL_ROLES);
  }

  token(req: SimRequest): SimResponse {
    const tenant = decodeURIComponent(req.params.tenant ?? '');
    if (tenant.toLowerCase() !== this.app.tenantId.toLowerCase()) return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    const form = req.form();
    if (form.get('grant_type') !== 'client_credentials') return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== this.app.clientId) return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory '${tenant}'.`);
    if (form.get('client_secret') !== this.app.clientSecret) return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.app.clientId}'.`);
    if (form.get('scope') !== GRAPH_SCOPE) return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    const value = randomBytes(32).toString('base64url');
    const lifetime = this.app.tokenLifetimeS ?? 3599;
    this.tokens.set(value, { expiresAt: this.clock.now() + lifetime * 1000, roles: new Set(this.roles) });
    this.issued++;
    return jsonResponse(200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: value });
  }

  /** The bearer token's permissions, or Graph's 401. */
  check(req: SimRequest): { roles: Set<string> } | SimResponse {
    const unauthorized = (message: string) => jsonResponse(401, graphErrorBody('InvalidAuthenticationToken', message));
    if (req.auth?.scheme !== 'bearer') return unauthorized('Access token is empty.');
    const t = this.tokens.get(req.auth.token);
    if (!t) return unauthorized('IDX14100: JWT is not well formed, there are no dots (.).');
    if (this.clock.now() >= t.expiresAt) return unauthorized('Lifetime validation failed, the token is expired.');
    return { roles: t.roles };
  }

  /** Makes every issued token expire (as if an hour had passed). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = this.clock.now();
  }
}

/** The permissions that allow a request (any one of them), and which service answers a refusal. */
export function permissionFor(method: string, path: string): { any: string[]; service: 'intune' | 'directory' } {
  const write = method !== 'GET';
  const rw = (family: string) => (write ? [`${family}.ReadWrite.All`] : [`${family}.Read.All`, `${family}.ReadWrite.All`]);
  if (path.startsWith('/v1.0/deviceManagement/managedDevices')) return { any: rw('DeviceManagementManagedDevices'), service: 'intune' };
  if (path.startsWith('/v1.0/deviceManagement/')) return { any: rw('DeviceManagementConfiguration'), service: 'intune' };
  if (path.startsWith('/v1.0/deviceAppManagement/')) return { any: rw('DeviceManagementApps'), service: 'intune' };
  if (path.startsWith('/v1.0/devices')) return { any: write ? ['Device.ReadWrite.All'] : ['Device.Read.All', 'Device.ReadWrite.All', 'Directory.Read.All'], service: 'directory' };
  if (/^\/v1\.0\/groups\/[^/]+\/members/.test(path)) {
    return { any: write ? ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All'] : ['GroupMember.Read.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All'], service: 'directory' };
  }
  return { any: write ? ['Group.ReadWrite.All'] : ['Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All'], service: 'directory' };
}

/** 403 as the service of that path words it. */
export function forbidden(p: { any: string[]; service: 'intune' | 'directory' }): SimResponse {
  if (p.service === 'directory') return jsonResponse(403, graphErrorBody('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'));
  const message = `{"_version": 3, "Message": "Application is not authorized to perform this operation. Application must have one of the following scopes: ${p.any.join(', ')} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000"}`;
  return jsonResponse(403, graphErrorBody('Forbidden', message));
}
