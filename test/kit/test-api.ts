/**
 * A small simulated API for the kit's own tests, built on the kit's simulator
 * base (providers/kit/sim). It speaks the shapes of the real systems the kit
 * serves: Graph-style OAuth2 token endpoint and error bodies, OData paging,
 * Snipe-IT-style `{total, rows}` paging and errors inside HTTP 200, opsi-style
 * JSON-RPC 1.0/2.0 with HTTP 401/403 and a brute-force block.
 */
import { ApiClient, type ApiClientOptions } from '../../providers/kit/client.js';
import { basicAuth } from '../../providers/kit/auth.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { Router } from '../../providers/kit/sim/router.js';
import { startHttpsSim, type RunningHttpsSim } from '../../providers/kit/sim/https-sim.js';
import { jsonResponse, type SimRequest, type SimResponse } from '../../providers/kit/sim/types.js';

export const CLIENT_ID = '6b1e2f4a-9c3d-4e5f-8a7b-1c2d3e4f5a6b';
export const CLIENT_SECRET = 'qWgd-Secret~Value+/=42';
export const BASIC_USER = 'einklang';
export const BASIC_PASSWORD = 'p@ss wörd:42';
export const TENANT = '3f2a9c3e-5b1d-4c8e-9a7b-2d6f1e0c4b5a';
export const API_KEY = 'k-123-Api-Key';

export interface TestApi {
  sim: RunningHttpsSim;
  /** Items served by the paging endpoints. */
  items: { id: number; name: string }[];
  /** Tokens the token endpoint issued and the API still accepts. */
  validTokens: Set<string>;
  tokensIssued: number;
  /** Lifetime the token endpoint announces (s). */
  tokenLifetimeS: number;
  /** OData page size, offset-paging clamp, and the seat quirk (offset >= total restarts at 0). */
  odataPageSize: number;
  offsetClamp: number;
  resetOffsetBeyondTotal: boolean;
  /** JSON-RPC: failed logins before the client is blocked (403), and failures so far. */
  rpcMaxFailures: number;
  rpcFailures: number;
  /** Last JSON-RPC request body received. */
  lastRpcBody?: unknown;
  /** Writes that changed state (POST /api/items). */
  created: number;
  /** Session cookies of the AOS-CX-style login (`POST /rest/login`). */
  sessions: Set<string>;
  logins: number;
}

const graphError = (status: number, code: string, message: string): SimResponse => jsonResponse(status, { error: { code, message, innerError: { date: '2025-01-06T08:00:00', 'request-id': 'r-1' } } });

/** opsi's JSON-RPC method table for the test: a read, a write with preconditions, a failing method. */
function rpcMethod(api: TestApi, method: string, params: unknown): unknown {
  if (method === 'host_getObjects') return [{ id: 'pc-001.gs-nord.schule.local', type: 'OpsiClient', ident: 'pc-001.gs-nord.schule.local' }];
  if (method === 'echo') return params;
  if (method === 'setProductActionRequest') {
    const [productId] = params as string[];
    if (productId !== 'firefox') throw Object.assign(new Error(`Product '${productId}' not found on depot 'depot.local'`), { cls: 'BackendMissingDataError' });
    return null;
  }
  throw Object.assign(new Error(`Invalid method '${method}'`), { cls: 'ValueError' });
}

function rpcAnswer(api: TestApi, env: any): unknown {
  const v2 = env?.jsonrpc === '2.0';
  try {
    const result = rpcMethod(api, env.method, env.params);
    return v2 ? { id: env.id, result, jsonrpc: '2.0' } : { id: env.id, result, error: null };
  } catch (e) {
    const cls = (e as { cls?: string }).cls ?? 'Exception';
    const message = (e as Error).message;
    return v2 ? { id: env.id, error: { message, code: 0, data: { class: cls, details: null } }, jsonrpc: '2.0' } : { id: env.id, result: null, error: { message, class: cls, details: null } };
  }
}

export async function startTestApi(o: { port?: number } = {}): Promise<TestApi> {
  const api: TestApi = {
    sim: undefined as unknown as RunningHttpsSim,
    items: Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `item-${i + 1}` })),
    validTokens: new Set(),
    tokensIssued: 0,
    tokenLifetimeS: 3599,
    odataPageSize: 3,
    offsetClamp: 500,
    resetOffsetBeyondTotal: false,
    rpcMaxFailures: 3,
    rpcFailures: 0,
    created: 0,
    sessions: new Set(),
    logins: 0,
  };
  const r = new Router();

  // --- OAuth2 token endpoint (Graph's login host shape)
  r.post(
    `/${TENANT}/oauth2/v2.0/token`,
    (req) => {
      const f = req.form();
      if (f.get('grant_type') !== 'client_credentials') return jsonResponse(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: grant type not supported' });
      if (!f.get('scope')) return jsonResponse(400, { error: 'invalid_request', error_description: "AADSTS900144: The request body must contain the following parameter: 'scope'." });
      if (f.get('client_id') !== CLIENT_ID || f.get('client_secret') !== CLIENT_SECRET) {
        // A server that echoes what it got: the client must redact it.
        return jsonResponse(401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided: ${f.get('client_secret')}` });
      }
      const token = `eyJ0eXAi.tok-${++api.tokensIssued}.sig`;
      api.validTokens.add(token);
      return jsonResponse(200, { token_type: 'Bearer', expires_in: api.tokenLifetimeS, ext_expires_in: api.tokenLifetimeS, access_token: token });
    },
    { write: false },
  );

  // --- REST endpoints
  r.get('/api/echo', (req) => jsonResponse(200, { ok: true, scheme: req.auth?.scheme ?? null }));
  r.get('/api/items', (req) => {
    const total = api.items.length;
    const limit = Math.min(Number(req.query.get('limit') ?? 50), api.offsetClamp);
    let offset = Number(req.query.get('offset') ?? 0);
    if (api.resetOffsetBeyondTotal && offset >= total) offset = 0;
    return jsonResponse(200, { total, rows: api.items.slice(offset, offset + limit) });
  });
  r.post('/api/items', (req) => {
    const name = req.json().name;
    if (typeof name !== 'string' || !name) return jsonResponse(200, { status: 'error', messages: { name: ['The name field is required.'] }, payload: null });
    api.created++;
    const item = { id: api.items.length + 1, name };
    api.items.push(item);
    return jsonResponse(200, { status: 'success', messages: 'created', payload: item });
  });
  r.get('/v1.0/items', (req) => {
    const skip = Number(req.query.get('$skiptoken') ?? 0);
    const page = api.items.slice(skip, skip + api.odataPageSize);
    const next = skip + api.odataPageSize < api.items.length ? `${api.sim.url}/v1.0/items?$skiptoken=${skip + api.odataPageSize}` : undefined;
    return jsonResponse(200, { '@odata.context': `${api.sim.url}/v1.0/$metadata#items`, value: page, ...(next ? { '@odata.nextLink': next } : {}) });
  });
  r.get('/v1.0/looping', (req) => jsonResponse(200, { value: [1], '@odata.nextLink': `${api.sim.url}/v1.0/looping?$skiptoken=same` }));
  r.get('/v1.0/foreign', () => jsonResponse(200, { value: [1, 2], '@odata.nextLink': 'https://graph.microsoft.com/v1.0/items?$skiptoken=2' }));
  r.get('/api/big', () => ({ status: 200, text: JSON.stringify({ blob: 'x'.repeat(10_000) }), headers: { 'content-type': 'application/json' } }));
  r.get('/api/html', () => ({ status: 200, text: '<html><body>Login</body></html>', headers: { 'content-type': 'text/html; charset=UTF-8' } }));
  r.get('/api/status/:code', (req) => graphError(Number(req.params.code), 'Request_Failed', `failed with ${req.params.code}`));
  r.post('/api/status/:code', (req) => graphError(Number(req.params.code), 'Request_Failed', `failed with ${req.params.code}`));
  r.get('/api/echo-secret', (req) => jsonResponse(400, { error: { code: 'BadRequest', message: `token ${req.auth?.scheme === 'bearer' ? req.auth.token : req.auth?.scheme === 'basic' ? req.auth.password : ''} is not valid here` } }));

  // --- AOS-CX-style session: form login, cookie, 401 when the session is gone
  r.post(
    '/rest/login',
    (req) => {
      const f = req.form();
      if (f.get('username') !== BASIC_USER || f.get('password') !== BASIC_PASSWORD) return { status: 401, text: 'Login failed' };
      const id = `sess-${++api.logins}-x7q`;
      api.sessions.add(id);
      return { status: 200, text: '', headers: { 'set-cookie': `id=${id}; Path=/; HttpOnly; Secure` } };
    },
    { write: false },
  );
  r.get('/rest/system', () => jsonResponse(200, { hostname: 'sw-01' }));

  // --- JSON-RPC (opsi's /rpc): write-ness depends on the method
  r.post(
    '/rpc',
    (req) => {
      const body = req.json();
      api.lastRpcBody = body;
      const calls = Array.isArray(body) ? body : [body];
      if (calls.some((c) => c?.method === 'setProductActionRequest')) req.markWrite();
      // opsiconfd answers a batch of one with the bare object (application/jsonrpc.py: `results[0] if len(results) == 1 else results`)
      if (Array.isArray(body) && body.length === 1) return jsonResponse(200, rpcAnswer(api, body[0]));
      if (Array.isArray(body)) return jsonResponse(200, body.map((c) => rpcAnswer(api, c)).reverse()); // any order: clients match by id
      return jsonResponse(200, rpcAnswer(api, body));
    },
    { write: false },
  );

  api.sim = await startHttpsSim({
    certSeed: 'test/KitApi/api',
    commonName: 'kit-test-api',
    port: o.port,
    router: r,
    gate: (req: SimRequest) => {
      if (req.path.endsWith('/oauth2/v2.0/token')) return undefined;
      if (req.path === '/rest/login') return undefined;
      if (req.path.startsWith('/rest/')) {
        const id = /(?:^|;\s*)id=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
        return id && api.sessions.has(id) ? undefined : { status: 401, text: 'Unauthorized' };
      }
      if (req.path === '/rpc') {
        if (api.rpcFailures >= api.rpcMaxFailures) return jsonResponse(403, { id: null, result: null, error: 'Client blocked' });
        const a = req.auth;
        if (a?.scheme !== 'basic' || a.user !== BASIC_USER || a.password !== BASIC_PASSWORD) {
          api.rpcFailures++;
          return { status: 401, json: { id: null, result: null, error: 'Authentication error' }, headers: { 'www-authenticate': 'Basic realm="opsi", charset="UTF-8"' } };
        }
        return undefined;
      }
      const a = req.auth;
      if (req.headers['x-api-key'] === API_KEY) return undefined;
      if (a?.scheme === 'bearer' && api.validTokens.has(a.token)) return undefined;
      if (a?.scheme === 'basic' && a.user === BASIC_USER && a.password === BASIC_PASSWORD) return undefined;
      if (a?.scheme === 'bearer') return graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
      return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    },
    notFound: () => graphError(404, 'NotFound', 'Resource not found for the segment'),
  });
  return api;
}

/**
 * Mocha hooks for a suite against one TestApi: starts it before the suite,
 * resets faults and the log and gives a fresh VirtualClock before each test,
 * closes the clients a test made after it. `client()` makes a pinned client
 * with Basic auth, the test's clock, the top of the jitter range (random 1)
 * and a 2 s timeout; options override.
 */
export function useTestApi(): { readonly api: TestApi; readonly clock: VirtualClock; client(o?: Partial<ApiClientOptions>): ApiClient } {
  let api: TestApi;
  let clock: VirtualClock;
  const clients: ApiClient[] = [];
  before(async () => {
    api = await startTestApi();
  });
  after(async () => {
    await api.sim.stop();
  });
  beforeEach(() => {
    clock = new VirtualClock();
    api.sim.faults.clear();
    api.sim.log.length = 0;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  return {
    get api() {
      return api;
    },
    get clock() {
      return clock;
    },
    client(o = {}) {
      const c = new ApiClient({
        host: '127.0.0.1',
        port: api.sim.port,
        tlsFingerprint: api.sim.fingerprint,
        auth: basicAuth(BASIC_USER, BASIC_PASSWORD),
        clock,
        random: () => 1,
        timeoutMs: 2000,
        ...o,
      });
      clients.push(c);
      return c;
    },
  };
}
