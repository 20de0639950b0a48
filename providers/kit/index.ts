/**
 * # The provider kit for API-managed systems
 *
 * Everything an HTTPS-API driver (Intune/Graph, opsi, OPNsense, Snipe-IT,
 * AOS-CX REST) needs besides its own object mapping, so that no driver grows
 * its own HTTP client, retry loop or id mapping. Node built-ins only.
 *
 * ## The client (`ApiClient`, client.ts)
 * One per target session. `new ApiClient({ host, port, tlsFingerprint, basePath, auth, envelope, budget, ... })`,
 * then `get/post/put/patch/delete(path, ...)` return the parsed JSON body, or
 * `request(method, path, { query, json, form, accept, idempotent, write })` the whole answer.
 * Guarantees:
 * - **Pinning before credentials**: with `tlsFingerprint` (SHA-256 of the
 *   certificate's DER; `AB:CD:..`, hex or `sha256:..`) the certificate is
 *   checked right after the TLS handshake, before a byte of HTTP is written;
 *   a mismatch is `E_TLS_FINGERPRINT` naming expected and presented
 *   fingerprints. Without it the system CAs decide (`E_TLS`). DESIGN.md
 *   requires a pin for loopback (lab) hosts: check with `tlsPinProblem(host, pin)`.
 * - **Own origin only**: absolute URLs (paging links) must point to the same
 *   origin (`E_FOREIGN_ORIGIN` otherwise); redirects are not followed.
 * - **One keep-alive pool per client** (`maxSockets`, default 4; use 1 for
 *   appliances with session limits; idle connections closed after
 *   `idleTimeoutMs`, 4 s, before servers drop them), a per-attempt `timeoutMs` (`E_TIMEOUT`),
 *   bounded responses (`maxResponseBytes`, `E_RESPONSE_TOO_LARGE`), truncated
 *   bodies (`E_TRUNCATED_RESPONSE`) and non-JSON bodies (`E_BAD_RESPONSE`)
 *   reported as such.
 * - **Retries** (retry.ts): 429/503 for every method, honouring Retry-After
 *   (seconds, fractional seconds as Graph sends, or an HTTP-date) up to
 *   `retry.maxRetryAfterMs`; else jittered exponential backoff. Other 5xx,
 *   timeouts, drops and truncation only for idempotent requests (GET, PUT,
 *   DELETE, or `idempotent: true`). A refused connection is retried always.
 * - **Budget** (budget.ts): `budget: { requests: {count, windowMs}, writes: {count, windowMs}, maxTotal }`
 *   delays requests to stay inside the server's published limits and fails a
 *   runaway loop loudly (`E_BUDGET_EXHAUSTED`). A request may weigh several
 *   units (`units: 20` for a Graph JSON batch of 20, which Graph counts as 20).
 *   Share one `RequestBudget` between clients of one tenant. `client.counters()` for benches.
 * - **Errors** (errors.ts): 401 `E_AUTH`, 403 `E_FORBIDDEN`, 404 `E_NOT_FOUND`,
 *   409 `E_CONFLICT`, 429 `E_THROTTLED`, 5xx `E_SERVER`, other `E_HTTP`, with
 *   the server's own message; `accept: [404]` to handle a status yourself.
 *   Errors inside HTTP 200: pass `envelope: statusErrorEnvelope` (Snipe-IT) or
 *   `resultFailedEnvelope` (OPNsense), or your own `EnvelopeCheck` -> `E_API_ERROR`.
 *   All are `ApiError`, a `DriverError` with `.code` and `.detail.status`.
 * - **Secrets**: every password, key, client secret and token the client
 *   holds is removed from every message and log line (redact.ts).
 * - **Time**: pass `clock` (a `VirtualClock` in tests: backoff and budget
 *   waits take no real time) and `random` (jitter).
 *
 * ## Auth (auth.ts, oauth2.ts)
 * `basicAuth(user, password)` (opsi, OPNsense key/secret), `bearerAuth(token)`
 * (Snipe-IT), `apiKeyAuth(header, key)`, and `clientCredentialsAuth({ tokenUrl,
 * clientId, clientSecret, scope, tlsFingerprint })` (Graph): token endpoint on
 * its own host/port/pin, one token per client, renewed before expiry and once
 * after a 401. `sessionAuth(login)` for login sessions (AOS-CX `POST /login`
 * cookie): one shared login, repeated once after a 401; `forget()` after a logout.
 *
 * ## Paging (paging.ts)
 * `odataPages(client, path)` follows `@odata.nextLink` (same origin only);
 * `offsetPages(client, path, { limit })` reads `{total, rows}` by limit/offset;
 * `cursorPages(fetch)` for anything else; `collect(items)` gathers them. All stop
 * looping servers (`E_PAGING`).
 *
 * ## JSON-RPC (jsonrpc.ts)
 * `new JsonRpcClient(client, { version: '1.0' | '2.0', path: '/rpc', isIdempotent })`:
 * `call(method, params)`, `batch(calls)` (one request, outcomes in call
 * order), `batchResults(calls)`. Errors inside HTTP 200 become `JsonRpcError`
 * (`E_RPC`, with `.method`, `.errorClass`, `.rpcCode`).
 *
 * ## Identity (natural-key.ts, uuid.ts)
 * `new NaturalKeyIndex(liveObjects, { kind, keyOf, idOf, normalize })`:
 * `get(key)` returns the one live object (throws `E_AMBIGUOUS_LIVE` naming
 * every server id when several share the key), `unclaimed()` the rest (the
 * unmanaged report). Where the API lets the client choose ids (OPNsense
 * `setRule/{uuid}`), `resourceUuid(address)` is a UUIDv5 of the address.
 *
 * ## Simulators (sim/)
 * `startHttpsSim({ certSeed: target.address, router, gate, notFound, methodNotAllowed })`
 * serves HTTPS on 127.0.0.1 with the target's lab certificate. `Router` maps
 * `get('/api/v1/licenses/:id', handler)`; handlers return `jsonResponse(status, body)`
 * or throw `HttpError`. The sim keeps a request `log` and `counters`
 * (requests, writes, TLS handshakes), and `faults.add(...)` injects latency,
 * a status (429 with/without Retry-After, 503), dropped connections,
 * truncated bodies or hangs. `FixedWindowLimiter` models N requests per window.
 *
 * ## Conformance
 * Every API driver registers with `apiTargetConformance(name, factory)` from
 * `test/support/api-conformance.ts`: pin refused before any request, E_AUTH
 * without secrets, read never writes, absent reads as null, create/update/
 * delete converge, any failed write leaves the system as it was, unmanaged
 * objects reported, E_AMBIGUOUS_LIVE.
 *
 * ## Example: a driver in outline (the full reference: test/kit/notes/driver.ts)
 * ```ts
 * class Session implements ChangeWriter {                       // engine/contract.ts
 *   readonly mode = 'change' as const;
 *   static async open(target: TargetSpec, opts: SessionOptions) {
 *     const c = target.connection;
 *     const problem = tlsPinProblem(c.host, c.tlsFingerprint);
 *     if (problem) throw new DriverError(problem, { code: 'E_TLS_FINGERPRINT' });
 *     const http = new ApiClient({
 *       host: c.host, port: c.port, tlsFingerprint: c.tlsFingerprint, basePath: '/api/v1',
 *       auth: bearerAuth(c.token), envelope: statusErrorEnvelope, timeoutMs: opts.timeoutMs, log: opts.log,
 *       budget: { requests: { count: 120, windowMs: 60_000 }, maxTotal: 20_000 },
 *     });
 *     await http.get('/licenses', { query: { limit: 1 } });   // proves pin and token up front
 *     return new Session(http);
 *   }
 *   constructor(private http: ApiClient) {}
 *   async read(objects: ReadRequest[]) {
 *     const live = await collect(offsetPages(this.http, '/licenses'));
 *     const ix = new NaturalKeyIndex(live, { kind: 'License', keyOf: (l) => l.name, idOf: (l) => String(l.id) });
 *     const out: ReadResult = { objects: {} };
 *     for (const o of objects) {
 *       const l = ix.get(o.id);                                  // E_AMBIGUOUS_LIVE on duplicates
 *       out.objects[objectKey(o.kind, o.id)] = l ? { kind: o.kind, id: o.id, state: toState(l) } : null;
 *     }
 *     out.unmanaged = ix.unclaimed().map((l) => ({ kind: 'License', id: l.name, state: toState(l) }));
 *     return out;
 *   }
 *   async applyChange(change: Change) { ... }                  // undo earlier writes if a later one fails
 *   async close() { this.http.close(); }
 * }
 * ```
 */
export { ApiClient, encodeQuery, type ApiClientOptions, type ApiResponse, type ClientCounters, type QueryValue, type RequestOptions } from './client.js';
export { apiKeyAuth, basicAuth, bearerAuth, sessionAuth, type Auth, type AuthContext, type SessionAuth } from './auth.js';
export { clientCredentialsAuth, type ClientCredentialsOptions } from './oauth2.js';
export { RequestBudget, type BudgetCounters, type BudgetLimits, type WindowLimit } from './budget.js';
export { VirtualClock, systemClock, type Clock } from './clock.js';
export {
  ApiError,
  assertEnvelopeOk,
  describeRequest,
  httpStatusError,
  resultFailedEnvelope,
  serverMessage,
  statusErrorEnvelope,
  type EnvelopeCheck,
} from './errors.js';
export { JsonRpcClient, JsonRpcError, type JsonRpcOptions, type RpcCall, type RpcOutcome } from './jsonrpc.js';
export { NaturalKeyIndex, ambiguousLiveError, type NaturalKeyOptions } from './natural-key.js';
export { collect, cursorPages, odataPages, offsetPages, type PagingLimits } from './paging.js';
export {
  certFingerprint,
  isLoopbackHost,
  normaliseCertFingerprint,
  parseCertFingerprint,
  presentedCertFingerprint,
  sshFingerprintOfBlob,
  tlsPinProblem,
} from './pinning.js';
export { Redactor } from './redact.js';
export { DEFAULT_RETRY, backoffDelay, isIdempotentMethod, parseRetryAfter, retryDecision, type RetryPolicy } from './retry.js';
export { HttpsTransport, type RawRequest, type RawResponse, type TransportOptions } from './transport.js';
export { EINKLANG_NAMESPACE, NAMESPACE_DNS, NAMESPACE_URL, isUuid, resourceUuid, uuidv5 } from './uuid.js';
