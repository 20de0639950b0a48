/**
 * JSON-RPC 1.0 and 2.0 over the ApiClient (opsi's `/rpc`), single calls and
 * batches.
 *
 * Envelopes (opsi, research/opsi.md; opsiconfd application/jsonrpc.py):
 *   request  `{"id":1,"method":"m","params":[...]}` plus `"jsonrpc":"2.0"` in 2.0;
 *            a JSON array is a batch and gets an array back (any order: matched by id),
 *            except that opsiconfd answers a batch of one with the bare object
 *   1.0 ok   `{"id":1,"result":...,"error":null}`
 *   1.0 fail `{"id":1,"result":null,"error":{"message":"...","class":"BackendMissingDataError","details":null}}`
 *   2.0 ok   `{"id":1,"result":...,"jsonrpc":"2.0"}` (no error key)
 *   2.0 fail `{"id":1,"error":{"message":"...","code":0,"data":{"class":"...","details":...}},"jsonrpc":"2.0"}`
 * Method errors arrive with HTTP 200: they become JsonRpcError (E_RPC) naming
 * the method, the error class (or code) and the server's message. HTTP 401
 * (opsi: wrong password, also "Permission denied") and 403 (opsi: client
 * blocked after too many failed logins) become E_AUTH / E_FORBIDDEN from the
 * ApiClient, prefixed with the method.
 *
 * Retries: a JSON-RPC call is a POST, so by default it is retried only when it
 * provably did not reach the server (429/503, refused connection). Pass
 * `isIdempotent` to let reads (`*_getObjects`) be retried after timeouts too.
 */
import type { ApiClient } from './client.js';
import { ApiError } from './errors.js';

export interface JsonRpcOptions {
  /** Endpoint path on the client's origin (default `/rpc`). */
  path?: string;
  version: '1.0' | '2.0';
  /** Methods safe to send twice (reads). Default: none. */
  isIdempotent?: (method: string) => boolean;
}

export interface RpcCall {
  method: string;
  params?: unknown[] | Record<string, unknown>;
}

export type RpcOutcome<T = unknown> = { ok: true; result: T } | { ok: false; error: JsonRpcError };

/** A JSON-RPC error answer (code E_RPC) or an unusable answer to one call (code E_BAD_RESPONSE). */
export class JsonRpcError extends ApiError {
  constructor(
    message: string,
    code: 'E_RPC' | 'E_BAD_RESPONSE',
    public readonly method: string,
    /** opsi's `class` (BackendMissingDataError, ValueError, ...), or undefined. */
    public readonly errorClass?: string,
    /** JSON-RPC 2.0 numeric code, or undefined. */
    public readonly rpcCode?: number,
  ) {
    super(message, code, { status: 200 });
  }
}

interface Envelope {
  id?: unknown;
  result?: unknown;
  error?: unknown;
}

/** `redact` removes the client's secrets: a server may echo parameters (an opsiHostKey) in its message. */
function callError(method: string, error: unknown, redact: (s: string) => string): JsonRpcError {
  if (typeof error === 'string') return new JsonRpcError(redact(`JSON-RPC ${method} failed: ${error}`), 'E_RPC', method);
  const e = (error ?? {}) as { message?: unknown; class?: unknown; code?: unknown; data?: { class?: unknown } };
  const cls = typeof e.class === 'string' ? e.class : typeof e.data?.class === 'string' ? e.data.class : undefined;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const msg = typeof e.message === 'string' ? e.message : JSON.stringify(error).slice(0, 300);
  const kind = cls ?? (code !== undefined ? `error ${code}` : 'error');
  return new JsonRpcError(redact(`JSON-RPC ${method} failed: ${kind}: ${msg}`), 'E_RPC', method, cls, code);
}

/** The outcome of one call from its response envelope (1.0: error null means success; 2.0: no error key). */
function outcomeOf(method: string, env: Envelope, redact: (s: string) => string): RpcOutcome {
  if (env.error !== undefined && env.error !== null) return { ok: false, error: callError(method, env.error, redact) };
  if (!('result' in env)) return { ok: false, error: new JsonRpcError(`JSON-RPC ${method}: answer has neither result nor error`, 'E_BAD_RESPONSE', method) };
  return { ok: true, result: env.result };
}

export class JsonRpcClient {
  private nextId = 1;
  private readonly path: string;
  private readonly redact = (s: string) => this.http.redactor.redact(s);

  constructor(
    private readonly http: ApiClient,
    private readonly o: JsonRpcOptions,
  ) {
    this.path = o.path ?? '/rpc';
  }

  private envelope(c: RpcCall, id: number): Record<string, unknown> {
    const e: Record<string, unknown> = { id, method: c.method, params: c.params ?? [] };
    if (this.o.version === '2.0') e.jsonrpc = '2.0';
    return e;
  }

  private async post(body: unknown, methods: string[]): Promise<unknown> {
    const idempotent = methods.every((m) => this.o.isIdempotent?.(m) ?? false);
    try {
      return await this.http.post(this.path, body, { envelope: false, idempotent, write: !idempotent });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const names = methods.length === 1 ? methods[0] : `batch of ${methods.length} (${[...new Set(methods)].slice(0, 5).join(', ')})`;
      throw new ApiError(`JSON-RPC ${names}: ${e.message}`, e.code, e.detail);
    }
  }

  /** Calls one method; resolves with its result, rejects with JsonRpcError (inside HTTP 200) or the client's ApiError. */
  async call<T = unknown>(method: string, params: RpcCall['params'] = []): Promise<T> {
    const id = this.nextId++;
    const body = await this.post(this.envelope({ method, params }, id), [method]);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new JsonRpcError(`JSON-RPC ${method}: the answer is not one JSON-RPC object`, 'E_BAD_RESPONSE', method);
    const out = outcomeOf(method, body as Envelope, this.redact);
    if (!out.ok) throw out.error;
    return out.result as T;
  }

  /**
   * Sends the calls as one batch (one HTTP request) and returns one outcome per
   * call, in the order of `calls`, matched by id whatever order the server used.
   * A call the server did not answer is an E_BAD_RESPONSE outcome; a single
   * error object instead of an array (a batch the server refused as a whole)
   * becomes every call's error.
   */
  async batch(calls: RpcCall[]): Promise<RpcOutcome[]> {
    if (!calls.length) return [];
    const ids = calls.map(() => this.nextId++);
    const body = await this.post(
      calls.map((c, i) => this.envelope(c, ids[i])),
      calls.map((c) => c.method),
    );
    if (!Array.isArray(body)) {
      const env = (body ?? {}) as Envelope;
      // opsiconfd answers a batch of ONE call with the bare answer object, not a one-element array
      // (opsiconfd 4.3 application/jsonrpc.py process_request: `results[0] if len(results) == 1 else results`).
      if (calls.length === 1 && (env.id === ids[0] || env.id === String(ids[0]))) return [outcomeOf(calls[0].method, env, this.redact)];
      return calls.map((c) =>
        env.error != null ? { ok: false, error: callError(c.method, env.error, this.redact) } : { ok: false, error: new JsonRpcError(`JSON-RPC ${c.method}: batch answer is not an array`, 'E_BAD_RESPONSE', c.method) },
      );
    }
    const byId = new Map<unknown, Envelope>();
    for (const env of body as Envelope[]) if (env && typeof env === 'object') byId.set(env.id, env);
    return calls.map((c, i) => {
      const env = byId.get(ids[i]) ?? byId.get(String(ids[i]));
      return env ? outcomeOf(c.method, env, this.redact) : { ok: false, error: new JsonRpcError(`JSON-RPC ${c.method}: no answer in the batch for id ${ids[i]}`, 'E_BAD_RESPONSE', c.method) };
    });
  }

  /** Like batch, but resolves with the results only and rejects with the first failed call's error. */
  async batchResults(calls: RpcCall[]): Promise<unknown[]> {
    const out = await this.batch(calls);
    const failed = out.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
    return out.map((r) => (r.ok ? r.result : undefined));
  }
}
