/**
 * The OPNsense REST endpoints the driver uses, over one kit ApiClient
 * (pinned, key/secret as Basic auth, errors inside HTTP 200 as E_API_ERROR).
 * Each method checks the answer the way that endpoint reports failure
 * (research/opnsense.md; corpus opn-cli/*.json):
 *   setRule/setItem  {"result":"saved"} | {"result":"failed","validations":{...}}
 *   delRule/delItem  {"result":"deleted"} | {"result":"not found"} (fine for a delete) | HTTP 500 "Alias in use"
 *   apply            {"status":"OK\n\n"}   reconfigure {"status":"ok"}
 *   savepoint        {"status":"ok","retention":"60","revision":"1626265654.21"}
 *   cancelRollback   {"status":"\n\n"}     revert {"status":"ok"} | {"status":"unknown (or removed) savepoint"}
 * Reads are GETs (the simulator and the real firewall take search
 * parameters from the query string), so a plan never writes.
 */
import { ApiClient } from '../../kit/client.js';
import { basicAuth } from '../../kit/auth.js';
import { ApiError, resultFailedEnvelope } from '../../kit/errors.js';
import { collect, cursorPages } from '../../kit/paging.js';
import type { OpnsenseConnection } from './connection.js';
import type { Row } from './mapping.js';
import { versionSeries } from './vocabulary.js';

export interface ClientOptions {
  timeoutMs: number;
  log?: (msg: string) => void;
  /** Attempts per request (the management check tries once: a cut path answers nothing). */
  attempts?: number;
}

/** One client for one session; a fresh one means a fresh TCP/TLS connection. */
export function opnsenseClient(c: OpnsenseConnection, o: ClientOptions): ApiClient {
  return new ApiClient({
    host: c.host,
    port: c.port,
    tlsFingerprint: c.tlsFingerprint,
    basePath: '/api',
    auth: basicAuth(c.apiKey, c.apiSecret),
    envelope: resultFailedEnvelope,
    timeoutMs: o.timeoutMs,
    log: o.log,
    // an appliance: few connections. OPNsense publishes no API rate limit (research/opnsense.md: "none found.
    // UNVERIFIED"; a search of the public issue corpus for OPNsense API throttling found none either), so only a run cap
    maxSockets: 2,
    retry: o.attempts ? { maxAttempts: o.attempts } : undefined,
    budget: { maxTotal: 50_000 },
    secrets: [c.apiKey], // the key is a credential too (the secret is registered by basicAuth)
  });
}

const PAGE = 500;

/** A write OPNsense refused inside HTTP 200 (`result: failed`), with its validation messages by field (`rule.source_net`). */
export class RefusedError extends ApiError {
  readonly validations: Record<string, string>;
  constructor(where: string, validations: unknown) {
    const v: Record<string, string> = {};
    if (validations && typeof validations === 'object') {
      for (const [k, m] of Object.entries(validations)) v[k] = Array.isArray(m) ? m.map(String).join(' ') : String(m);
    }
    const said = Object.entries(v).map(([k, m]) => `${k}: ${m}`).join('; ');
    super(`${where}: the firewall refused the write (result "failed"${said ? `: ${said}` : ', no validation messages: the uuid is not valid'})`, 'E_API_ERROR', { status: 200 });
    this.validations = v;
  }
}

export class OpnsenseApi {
  constructor(readonly http: ApiClient) {}

  /** product.product_version of GET /api/core/firmware/status (present with and without an update check). */
  async firmware(): Promise<{ version: string; series: [number, number] | null }> {
    const s = await this.http.get('/core/firmware/status');
    const version = String(s?.product?.product_version ?? s?.product_version ?? '');
    return { version, series: versionSeries(version) };
  }

  /** Every row of a search endpoint: rowCount=-1 in one request; pages if the firewall hands out fewer. */
  private async search(path: string): Promise<Row[]> {
    const first = await this.http.get(path, { query: { current: 1, rowCount: -1 } });
    const rows: Row[] = Array.isArray(first?.rows) ? first.rows : [];
    const total = Number(first?.total ?? rows.length);
    if (rows.length >= total) return rows;
    const rest = await collect(
      cursorPages<Row, number>(async (page) => {
        const p = page ?? 1;
        const r = await this.http.get(path, { query: { current: p, rowCount: PAGE } });
        const items: Row[] = Array.isArray(r?.rows) ? r.rows : [];
        return { items, next: items.length === PAGE && p * PAGE < Number(r?.total ?? 0) ? p + 1 : undefined };
      }),
    );
    return rest;
  }

  searchRules(): Promise<Row[]> {
    return this.search('/firewall/filter/searchRule');
  }

  searchAliases(): Promise<Row[]> {
    return this.search('/firewall/alias/searchItem');
  }

  /** setRule/{uuid}: an upsert (a new well-formed uuid creates the rule under it), so repeating it is harmless. */
  setRule(uuid: string, fields: Record<string, string>): Promise<void> {
    return this.set(`/firewall/filter/setRule/${uuid}`, { rule: fields });
  }

  async delRule(uuid: string): Promise<void> {
    await this.deleted(`/firewall/filter/delRule/${uuid}`);
  }

  /** setItem/{uuid}: an upsert as well (ApiMutableModelControllerBase::setBase); a changed name renames the alias everywhere. */
  setAlias(uuid: string, fields: Record<string, string>): Promise<void> {
    return this.set(`/firewall/alias/setItem/${uuid}`, { alias: fields });
  }

  private async set(path: string, body: unknown): Promise<void> {
    const r = (await this.http.request('POST', path, { json: body, idempotent: true, envelope: false })).json;
    if (r?.result === 'saved') return;
    if (r?.result === 'failed') throw new RefusedError(`POST /api${path}`, r.validations);
    throw this.unexpected('POST', path, r);
  }

  async delAlias(uuid: string): Promise<void> {
    await this.deleted(`/firewall/alias/delItem/${uuid}`);
  }

  private async deleted(path: string): Promise<void> {
    const r = await this.http.post(path, undefined, { idempotent: true });
    if (r?.result !== 'deleted' && r?.result !== 'not found') throw this.unexpected('POST', path, r);
  }

  /** POST filter/apply[/revision]: loads the configured rules (with a revision, ≤ 26.1, arms the rollback timer). */
  async apply(revision?: string): Promise<void> {
    const path = revision ? `/firewall/filter/apply/${revision}` : '/firewall/filter/apply';
    const r = await this.http.post(path);
    if (String(r?.status ?? '').trim().toUpperCase() !== 'OK') throw this.unexpected('POST', path, r);
  }

  async reconfigureAliases(): Promise<void> {
    const r = await this.http.post('/firewall/alias/reconfigure');
    if (r?.status !== 'ok') throw this.unexpected('POST', '/firewall/alias/reconfigure', r);
  }

  /** POST savepoint (≤ 26.1): the revision as the firewall prints it (two decimals on 26.1). */
  async savepoint(): Promise<string> {
    const r = await this.http.post('/firewall/filter/savepoint');
    if (r?.status !== 'ok' || typeof r?.revision !== 'string' || !/^\d+(\.\d+)?$/.test(r.revision)) throw this.unexpected('POST', '/firewall/filter/savepoint', r);
    return r.revision;
  }

  async cancelRollback(revision: string): Promise<void> {
    const r = await this.http.post(`/firewall/filter/cancelRollback/${revision}`);
    // answers the script's output, "\n\n" when it removed the lock file
    if (String(r?.status ?? '').trim() !== '') throw this.unexpected('POST', `/firewall/filter/cancelRollback/${revision}`, r);
  }

  /** POST revert/{revision}: the firewall restores its filter rules from the savepoint at once. */
  async revert(revision: string): Promise<void> {
    const r = await this.http.post(`/firewall/filter/revert/${revision}`);
    if (r?.status !== 'ok') throw this.unexpected('POST', `/firewall/filter/revert/${revision}`, r);
  }

  /** The local config backups (file names with full microtime precision), newest first. */
  async backups(): Promise<string[]> {
    const r = await this.http.get('/core/backup/backups/this');
    return (Array.isArray(r?.items) ? r.items : []).map((i: Row) => String(i.id ?? ''));
  }

  private unexpected(method: string, path: string, body: unknown): ApiError {
    return new ApiError(`${method} /api${path}: unexpected answer ${JSON.stringify(body).slice(0, 200)}`, 'E_API_ERROR', { status: 200 });
  }
}
