/**
 * The Graph simulator: one Intune tenant over HTTPS on 127.0.0.1 with the
 * lab certificate of its target, for `einklang lab` and the tests. Built on
 * the kit's HTTPS simulator (request log, counters, fault injection).
 *
 * Every request passes, in this order: injected faults (kit), the token
 * endpoint (no bearer), the bearer check (401), the app's permissions (403),
 * the tenant's throttling (429), then the route. A JSON batch
 * (`POST /v1.0/$batch`, at most 20 requests, relative URLs) runs each of its
 * requests through permissions, throttling and the route on its own and
 * answers 200 with their statuses, headers and bodies (corpus
 * graph/common/batch.json).
 */
import type { Clock } from '../../../kit/clock.js';
import { systemClock } from '../../../kit/clock.js';
import { startHttpsSim, type RunningHttpsSim } from '../../../kit/sim/https-sim.js';
import { Router } from '../../../kit/sim/router.js';
import { HttpError, jsonResponse, type SimRequest, type SimResponse } from '../../../kit/sim/types.js';
import { EntraId, forbidden, permissionFor, type AppRegistration } from './auth.js';
import { graphErrorBody } from './errors.js';
import { graphRoutes, noRoute, unknownSegment } from './routes.js';
import { TenantModel } from './tenant.js';
import { TenantThrottle, tooManyRequests, type ThrottleOptions } from './throttle.js';

export interface GraphSimOptions {
  /** Seed of the lab certificate: the MdmTenant's address. */
  certSeed: string;
  port?: number;
  app: AppRegistration;
  /** Tenant time: token lifetimes, throttling windows, replication (tests: a VirtualClock shared with the driver). */
  clock?: Clock;
  /** Largest page any collection hands out (tests: a small number, so that every read pages). */
  pageSize?: number;
  throttle?: ThrottleOptions;
  /** How long after creation a group's members cannot be written yet (directory replication). */
  replicationDelayMs?: number;
  /** Called before each Graph request (a batch's too) is handled: tests change the tenant "at the same time" (a colleague in the portal). */
  onRequest?: (method: string, path: string, body: () => unknown) => void;
}

export interface RunningGraphSim {
  http: RunningHttpsSim;
  tenant: TenantModel;
  entra: EntraId;
  throttle: TenantThrottle;
  port: number;
  fingerprint: string;
  /** Makes the n-th write request from now (1 = the next) fail with 400, changing nothing. */
  failNthWrite(n: number): void;
  /** The next `times` Graph requests get 429 (with `Retry-After: retryAfter`, or without it). */
  throttleNext(times: number, retryAfter?: string): void;
  stop(): Promise<void>;
}

const TOKEN_PATH = /^\/[^/]+\/oauth2\/v2\.0\/token$/;
const WRITES = ['POST', 'PATCH', 'PUT', 'DELETE'];
/** Graph writes: every write method on /v1.0 except the batch envelope. */
export const GRAPH_WRITE_PATH = /^\/v1\.0\/(?!\$batch$)/;

const isWrite = (method: string) => method !== 'GET';

function answer(e: unknown): SimResponse {
  if (e instanceof HttpError) return { status: e.status, json: e.body, headers: e.headers };
  return jsonResponse(500, graphErrorBody('InternalServerError', `simulator error: ${(e as Error).message}`));
}

export async function startGraphSim(o: GraphSimOptions): Promise<RunningGraphSim> {
  const clock = o.clock ?? systemClock;
  const tenant = new TenantModel(clock, o.replicationDelayMs ?? 0);
  const entra = new EntraId(o.app, clock);
  const throttle = new TenantThrottle(clock, o.throttle);
  const router = graphRoutes(tenant, { pageSize: o.pageSize });
  router.post('/:tenant/oauth2/v2.0/token', (req) => entra.token(req), { write: false });
  /** Bearer permissions of admitted batch envelopes. */
  const rolesOf = new WeakMap<SimRequest, Set<string>>();

  /** Permissions and throttling of one Graph request (a batch's too). */
  const admit = (method: string, path: string, roles: Set<string>): SimResponse | undefined => {
    const need = permissionFor(method, path);
    if (!need.any.some((r) => roles.has(r))) return forbidden(need);
    return throttle.admit(isWrite(method));
  };

  const dispatch = async (req: SimRequest): Promise<SimResponse> => {
    const m = router.match(req.method, req.path);
    if ('status' in m) return m.status === 405 ? noRoute(req) : unknownSegment(req);
    req.params = m.params;
    if (m.write) req.markWrite();
    try {
      o.onRequest?.(req.method, req.path, () => req.json());
      return await m.handler(req);
    } catch (e) {
      return answer(e);
    }
  };

  router.post(
    '/v1.0/$batch',
    async (outer) => {
      const b = outer.json();
      const requests = b?.requests;
      if (!Array.isArray(requests) || !requests.length) return jsonResponse(400, graphErrorBody('BadRequest', 'Invalid batch payload format: a non-empty "requests" array is required.'));
      if (requests.length > 20) return jsonResponse(400, graphErrorBody('BadRequest', 'Number of batch requests exceeds the limit of 20.'));
      const ids = new Set(requests.map((r: { id?: unknown }) => String(r?.id)));
      if (ids.size !== requests.length) return jsonResponse(400, graphErrorBody('BadRequest', 'Batch request ids must be unique.'));
      const roles = rolesOf.get(outer) ?? new Set<string>();
      const responses = [];
      for (const r of requests as { id: string; method?: string; url?: string; body?: unknown; headers?: Record<string, string> }[]) {
        const method = String(r.method ?? '').toUpperCase();
        const url = String(r.url ?? '');
        if (!method || !url || /^[a-z]+:/i.test(url)) {
          responses.push({ id: r.id, status: 400, body: graphErrorBody('BadRequest', 'Each batch request needs an id, a method and a URL relative to the version (/groups/...).') });
          continue;
        }
        const u = new URL(url.startsWith('/') ? url : `/${url}`, 'https://batch');
        const path = `/v1.0${u.pathname}`;
        const body = Buffer.from(r.body === undefined ? '' : JSON.stringify(r.body));
        const sub: SimRequest = {
          ...outer,
          headers: { ...outer.headers, ...Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) },
          method,
          path,
          query: u.searchParams,
          params: {},
          body,
          json: () => JSON.parse(body.toString('utf8') || 'null'),
          form: () => new URLSearchParams(body.toString('utf8')),
        };
        const refused = admit(method, path, roles);
        const res = refused ?? (await dispatch(sub));
        responses.push({ id: r.id, status: res.status, headers: { 'Content-Type': 'application/json', ...res.headers }, body: res.json ?? null });
      }
      return jsonResponse(200, { responses });
    },
    { write: false },
  );

  // every request goes through dispatch (the hook, write counting, errors in Graph's shape)
  const front = new Router();
  for (const method of ['GET', ...WRITES]) front.on(method, '/*path', dispatch, { write: false });
  const http = await startHttpsSim({
    certSeed: o.certSeed,
    port: o.port,
    router: front,
    maxBodyBytes: 4 * 1024 * 1024,
    gate: (req) => {
      if (TOKEN_PATH.test(req.path)) return undefined;
      const auth = entra.check(req);
      if ('status' in auth) return auth as SimResponse;
      if (req.path === '/v1.0/$batch') {
        rolesOf.set(req, auth.roles);
        return undefined;
      }
      return admit(req.method, req.path, auth.roles);
    },

  });

  return {
    http,
    tenant,
    entra,
    throttle,
    port: http.port,
    fingerprint: http.fingerprint,
    failNthWrite: (n) =>
      http.faults.add(
        { kind: 'status', status: 400, body: graphErrorBody('BadRequest', 'Injected failure: the service refused this write.') },
        { match: { method: WRITES, path: GRAPH_WRITE_PATH }, skip: n - 1 },
      ),
    throttleNext: (times, retryAfter) => {
      const t = tooManyRequests(retryAfter);
      http.faults.add({ kind: 'status', status: 429, body: t.json, retryAfter }, { match: { path: /^\/v1\.0\// }, times });
    },
    stop: () => http.stop(),
  };
}
