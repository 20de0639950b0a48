/**
 * Driver `opnsense`: OPNsense firewalls over the REST API, filter rules and
 * aliases (research/opnsense.md; corpus /work/shared/corpus/opnsense).
 *
 * Session: one kit ApiClient (certificate pinned before the key is sent,
 * key and secret as HTTP Basic). Opening it asks GET /api/core/firmware/status,
 * which proves pin and credentials and tells the firmware: savepoint,
 * apply/{revision} and cancelRollback exist up to 26.1.x and are gone from
 * 26.7 (core PR #10411).
 *
 * Read: two GETs — searchRule and searchItem with rowCount=-1 (paged only if
 * the firewall hands out fewer rows). Rules are found by their uuid (the
 * UUIDv5 of the rule's address), aliases by name (E_AMBIGUOUS_LIVE when the
 * config holds two aliases of one name: OPNsense checks uniqueness only on
 * the node being saved, so a restored or synchronised config.xml can carry
 * duplicates). MVC rules and user aliases no manifest asks for are reported
 * as unmanaged; the firewall's automatic rules and system aliases never are.
 * The read also tells the plan how the changes would be applied (warnings).
 *
 * Write: one transaction per firewall (transaction.ts).
 */
import type { Driver, ReadRequest, SessionOptions, TargetSpec, TransactionWriter } from '../../../engine/contract.js';
import { DriverError } from '../../../engine/contract.js';
import { objectKey, type Change, type LiveObject, type ReadResult } from '../../../engine/model.js';
import { NaturalKeyIndex } from '../../kit/natural-key.js';
import { OpnsenseApi, opnsenseClient } from './api.js';
import { opnsenseConnection, type OpnsenseConnection } from './connection.js';
import { aliasState, isMvcRule, isUserAlias, ruleState, type Row } from './mapping.js';
import { applyFirewallTransaction, type FirewallSession } from './transaction.js';
import { hasRollbackApi } from './vocabulary.js';

export interface OpnsenseDriverOptions {
  /** Time between attempts while waiting for a firewall to come back after a lost path (default 2 s). */
  pollMs?: number;
}

class OpnsenseSession implements TransactionWriter, FirewallSession {
  readonly mode = 'transaction' as const;

  private constructor(
    readonly target: string,
    readonly conn: OpnsenseConnection,
    public api: OpnsenseApi,
    readonly version: string,
    readonly rollbackApi: boolean,
    private readonly opts: SessionOptions,
    readonly pollMs: number,
  ) {}

  static async open(target: TargetSpec, opts: SessionOptions, o: OpnsenseDriverOptions): Promise<OpnsenseSession> {
    const conn = opnsenseConnection(target, opts);
    const api = new OpnsenseApi(opnsenseClient(conn, { timeoutMs: conn.timeoutMs, log: opts.log }));
    try {
      const fw = await api.firmware();
      // A version einklang cannot read is treated as one without rollback: the safe side.
      return new OpnsenseSession(target.address, conn, api, fw.version || 'of unknown version', !!fw.series && hasRollbackApi(fw.series), opts, o.pollMs ?? 2000);
    } catch (e) {
      api.http.close();
      throw e;
    }
  }

  log(msg: string): void {
    this.opts.log?.(msg);
  }

  fresh(timeoutMs: number): OpnsenseApi {
    return new OpnsenseApi(opnsenseClient(this.conn, { timeoutMs, log: this.opts.log, attempts: 1 }));
  }

  reconnect(): void {
    this.api.http.close();
    this.api = new OpnsenseApi(opnsenseClient(this.conn, { timeoutMs: this.conn.timeoutMs, log: this.opts.log }));
  }

  /** What the plan says about applying to this firewall. */
  private warnings(): string[] {
    if (this.rollbackApi) {
      return [
        `OPNsense ${this.version}: changes are applied with a savepoint; if einklang loses its access afterwards, the firewall restores its filter rules by itself after 60 s. ` +
          "OPNsense's savepoint reverts filter rules only: alias changes are undone by einklang itself, which needs its access to do so",
      ];
    }
    if (!this.conn.allowWithoutRollback) return [`OPNsense ${this.version} has no savepoint/rollback API (removed in 26.7): apply will refuse this firewall unless it sets allowWithoutRollback: true`];
    return [
      `OPNsense ${this.version} has no savepoint/rollback API (removed in 26.7); allowWithoutRollback is set: einklang snapshots the rules and aliases and restores them itself if applying fails — it cannot when the change cuts its own access`,
    ];
  }

  async read(objects: ReadRequest[]): Promise<ReadResult> {
    const [ruleRows, aliasRows] = await Promise.all([this.api.searchRules(), this.api.searchAliases()]);
    const rules = new Map<string, Row>(ruleRows.filter(isMvcRule).map((r) => [String(r.uuid), r]));
    const aliases = new NaturalKeyIndex(aliasRows.filter(isUserAlias), { kind: 'FirewallAlias', keyOf: (a) => String(a.name), idOf: (a) => String(a.uuid) });
    const out: ReadResult = { objects: {}, warnings: this.warnings() };
    const claimedRules = new Set<string>();
    for (const o of objects) {
      let live: LiveObject | null;
      if (o.kind === 'FirewallRule') {
        const r = rules.get(o.id);
        claimedRules.add(o.id);
        live = r ? { kind: o.kind, id: o.id, state: ruleState(r) } : null;
      } else if (o.kind === 'FirewallAlias') {
        const a = aliases.get(o.id);
        live = a ? { kind: o.kind, id: o.id, state: aliasState(a) } : null;
      } else {
        throw new DriverError(`the opnsense driver does not manage ${o.kind}`, { code: 'E_UNSUPPORTED' });
      }
      out.objects[objectKey(o.kind, o.id)] = live;
    }
    out.unmanaged = [
      ...aliases.unclaimed().map((a): LiveObject => ({ kind: 'FirewallAlias', id: String(a.name), state: aliasState(a) })),
      ...[...rules].filter(([id]) => !claimedRules.has(id)).map(([id, r]): LiveObject => ({ kind: 'FirewallRule', id, state: ruleState(r) })),
    ];
    return out;
  }

  applyTransaction(changes: Change[]): Promise<void> {
    return applyFirewallTransaction(this, changes);
  }

  async close(): Promise<void> {
    this.api.http.close();
  }
}

/** The opnsense driver; `o` only for tests (how fast to poll a firewall that is rolling back). */
export function createOpnsenseDriver(o: OpnsenseDriverOptions = {}): Driver {
  const open = (t: TargetSpec, opts: SessionOptions = {}) => OpnsenseSession.open(t, opts, o);
  return { name: 'opnsense', connectReader: open, connectWriter: open };
}

export const opnsenseDriver: Driver = createOpnsenseDriver();
