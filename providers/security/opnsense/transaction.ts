/**
 * One firewall, one transaction. The flow, and what each failure means:
 *
 *   refuse   firmware without a rollback API (26.7+) and no allowWithoutRollback:
 *            nothing is sent.
 *   snapshot every user alias and MVC rule as the firewall has them staged.
 *   savepoint (≤ 26.1, when rules change): POST savepoint, then the backup
 *            file's exact revision (see below). Unresolvable: refuse, unless
 *            allowWithoutRollback.
 *   stage    alias upserts, rule upserts (setRule/{uuid}) and deletes, alias
 *            deletes — nothing is live yet. A refused write: the staged state
 *            is restored from the snapshot; nothing was applied.
 *   activate alias/reconfigure, filter/apply/{revision} (arms the firewall's
 *            60 s rollback timer) or filter/apply.
 *   check    the management path over a FRESH connection (the open one may
 *            survive in pf's state table although new ones are blocked).
 *   confirm  cancelRollback/{revision}.
 *
 * Recovery after activation:
 * - the firewall still answers: revert/{revision} (the firewall restores its
 *   filter rules at once) and cancel the timer, then einklang restores the
 *   staged rules and aliases from its snapshot and activates them;
 * - the firewall stopped answering (the change cut the path): with a
 *   savepoint, wait for the firewall to roll its filter rules back by itself,
 *   polling with fresh connections; then restore the aliases (OPNsense's
 *   savepoint covers filter rules only). Without one (26.7, or an alias-only
 *   change), try to restore over the open session — the only way left.
 * A rollback counts as done only when a fresh read equals the snapshot; the
 * error then carries `rolledBack: true`.
 *
 * The revision-precision defect (research/opnsense.md "Known defect";
 * opnsense/core#10721, opnsense/plugins#2958): `savepoint` returns the
 * revision as sprintf('%0.2f', microtime) while Config::backup() names the
 * file `config-<microtime>.xml` with full precision, so the firewall's own
 * timer looks for a file that does not exist and never reverts. The timer
 * script takes any digits-and-dots argument (scripts/filter/rollback_timer.php,
 * preg_replace("/[^0-9.]/", "")), so einklang asks for the backup list
 * (GET /api/core/backup/backups/this, BackupController::backupsAction: the
 * `id` is the file name) and arms the timer with the full-precision name of
 * the backup the savepoint wrote: the newest one whose time rounds to the
 * revision. The same string goes to cancelRollback and revert.
 */
import { DriverError } from '../../../engine/contract.js';
import type { Change } from '../../../engine/model.js';
import { ambiguousLiveError } from '../../kit/natural-key.js';
import { resourceUuid } from '../../kit/uuid.js';
import { RefusedError, type OpnsenseApi } from './api.js';
import type { OpnsenseConnection } from './connection.js';
import { ALIAS_VOLATILE, RULE_VOLATILE, aliasFields, isMvcRule, isUserAlias, manifestField, ruleFields, writableFields, type AliasState, type Row, type RuleState } from './mapping.js';

export interface Snapshot {
  rules: Map<string, Row>;
  aliases: Map<string, Row>;
}

export interface FirewallSession {
  readonly target: string;
  readonly conn: OpnsenseConnection;
  readonly version: string;
  readonly rollbackApi: boolean;
  /** The session's API (replaced by reconnect()). */
  api: OpnsenseApi;
  /** A new client on a new connection, tried once (the management check). */
  fresh(timeoutMs: number): OpnsenseApi;
  /** Replaces the session's client by a fresh one (after the firewall came back). */
  reconnect(): void;
  log(msg: string): void;
  /** Time between attempts while waiting for the firewall to come back. */
  pollMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function takeSnapshot(api: OpnsenseApi): Promise<Snapshot> {
  const [rules, aliases] = await Promise.all([api.searchRules(), api.searchAliases()]);
  return {
    rules: new Map(rules.filter(isMvcRule).map((r) => [String(r.uuid), r])),
    aliases: new Map(aliases.filter(isUserAlias).map((a) => [String(a.uuid), a])),
  };
}

const ruleWritable = (r: Row) => writableFields(r, RULE_VOLATILE);
const aliasWritable = (a: Row) => {
  const f = writableFields(a, ALIAS_VOLATILE);
  return { ...f, content: (f.content ?? '').split(/[\n,]/).filter(Boolean).join('\n') };
};
const same = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** How `now` differs from `before`, in words (empty: the same). */
export function describeDifference(before: Snapshot, now: Snapshot): string {
  const out: string[] = [];
  for (const [what, a, b, w] of [
    ['rule', before.rules, now.rules, ruleWritable],
    ['alias', before.aliases, now.aliases, aliasWritable],
  ] as const) {
    for (const id of b.keys()) if (!a.has(id)) out.push(`${what} ${id} was added`);
    for (const [id, row] of a) {
      const cur = b.get(id);
      if (!cur) out.push(`${what} ${id} is missing`);
      else if (!same(w(row), w(cur))) out.push(`${what} ${id} differs`);
    }
  }
  return out.join('; ');
}

/** Stages `before` again: changed and missing objects written back (upserts keep their uuids), added ones deleted. */
async function restoreStaged(api: OpnsenseApi, before: Snapshot): Promise<void> {
  const now = await takeSnapshot(api);
  for (const [id, row] of before.aliases) {
    const cur = now.aliases.get(id);
    if (!cur || !same(aliasWritable(row), aliasWritable(cur))) await api.setAlias(id, aliasWritable(row));
  }
  for (const id of now.rules.keys()) if (!before.rules.has(id)) await api.delRule(id);
  for (const [id, row] of before.rules) {
    const cur = now.rules.get(id);
    if (!cur || !same(ruleWritable(row), ruleWritable(cur))) await api.setRule(id, ruleWritable(row));
  }
  for (const id of now.aliases.keys()) if (!before.aliases.has(id)) await api.delAlias(id);
}

type Op = { change: Change; phase: number };

/** Aliases first (rules refer to them), then rules, then alias deletes (a referenced alias cannot be deleted). */
function ordered(changes: Change[]): Op[] {
  const isDelete = (c: Change) => c.actions.length === 1 && c.actions[0] === 'delete';
  const phase = (c: Change) => (c.kind === 'FirewallAlias' ? (isDelete(c) ? 2 : 0) : 1);
  return changes.map((change) => ({ change, phase: phase(change) })).sort((a, b) => a.phase - b.phase);
}

function refused(c: Change, e: unknown): DriverError {
  if (!(e instanceof RefusedError)) return e instanceof DriverError ? e : new DriverError(message(e));
  const fields = Object.entries(e.validations).map(([k, m]) => `${manifestField(k)}: ${m}`);
  return new DriverError(`${c.address}: the firewall refused the ${c.kind}${fields.length ? ` — ${fields.join('; ')}` : ` (${e.message})`}`, { code: 'E_FIREWALL_REFUSED' });
}

/** The live uuid of an alias by name (E_AMBIGUOUS_LIVE when several share it). */
function aliasUuid(before: Snapshot, name: string): string | undefined {
  const ids = [...before.aliases].filter(([, a]) => a.name === name).map(([id]) => id);
  if (ids.length > 1) throw ambiguousLiveError('FirewallAlias', name, ids);
  return ids[0];
}

async function stage(api: OpnsenseApi, ops: Op[], before: Snapshot): Promise<void> {
  for (const { change: c } of ops) {
    try {
      const del = c.actions.length === 1 && c.actions[0] === 'delete';
      if (c.kind === 'FirewallRule') {
        if (del) await api.delRule(c.id);
        else await api.setRule(c.id, ruleFields(c.after as RuleState));
      } else if (c.kind === 'FirewallAlias') {
        const live = aliasUuid(before, c.id);
        if (del) {
          if (live) await api.delAlias(live);
        } else {
          // a new alias gets the UUIDv5 of its address, unless some other alias holds it (then setItem would rename that one)
          const fresh = resourceUuid(c.resource);
          const uuid = live ?? (before.aliases.has(fresh) ? globalThis.crypto.randomUUID() : fresh);
          await api.setAlias(uuid, aliasFields(c.id, c.after as AliasState));
        }
      } else {
        throw new DriverError(`the opnsense driver does not manage ${c.kind}`, { code: 'E_UNSUPPORTED' });
      }
    } catch (e) {
      throw refused(c, e);
    }
  }
}

/** The savepoint and the revision to arm the timer with (see the module comment); undefined when the firewall cannot roll back by itself. */
async function savepoint(s: FirewallSession): Promise<string | undefined> {
  const rev = await s.api.savepoint();
  let files: string[] | undefined;
  let why = '';
  try {
    files = await s.api.backups();
  } catch (e) {
    why = `the backup list is not readable (${message(e)}); the API key needs the privilege "Diagnostics: Configuration History"`;
  }
  if (files?.includes(`config-${rev}.xml`)) return rev;
  const times = (files ?? []).map((f) => /^config-(\d+(?:\.\d+)?)\.xml$/.exec(f)?.[1]).filter((t): t is string => !!t && Math.abs(Number(t) - Number(rev)) <= 0.005 + 1e-9);
  if (times.length) {
    const exact = times.sort((a, b) => Number(b) - Number(a))[0];
    s.log(`${s.target}: savepoint ${rev} is backup config-${exact}.xml (OPNsense rounds the revision; core#10721)`);
    return exact;
  }
  const problem = `savepoint ${rev} names no backup file (OPNsense prints the revision with two decimals, the file keeps four: core#10721), and ${why || 'no backup in the list matches it'}: the firewall would not roll back by itself`;
  if (!s.conn.allowWithoutRollback) {
    throw new DriverError(`${s.target}: ${problem}; nothing was changed (set allowWithoutRollback: true to apply with einklang's own snapshot and restore)`, { code: 'E_NO_ROLLBACK' });
  }
  s.log(`${s.target}: ${problem}; allowWithoutRollback: applying with einklang's own snapshot and restore`);
  return undefined;
}

/** GET firmware status over a new connection, tried once with a short timeout. */
async function managementCheck(s: FirewallSession): Promise<void> {
  const api = s.fresh(s.conn.checkTimeoutMs);
  try {
    await api.firmware();
  } finally {
    api.http.close();
  }
}

/** Polls with fresh connections until the firewall answers again; false at the deadline. */
async function waitForFirewall(s: FirewallSession, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    await sleep(s.pollMs);
    try {
      await managementCheck(s);
      return true;
    } catch {
      // still unreachable
    }
  }
  return false;
}

async function verifyRestored(s: FirewallSession, before: Snapshot): Promise<void> {
  const diff = describeDifference(before, await takeSnapshot(s.api));
  if (diff) throw new DriverError(`the firewall still differs from before the change: ${diff}`);
}

/** Brings the firewall back to `before` after a failure past activation; always throws. */
interface Touched {
  rules: boolean;
  aliases: boolean;
}

/** Activates what was restored: alias tables and/or the filter rules (never rules nobody touched: that would also load other people's staged edits). */
async function activate(api: OpnsenseApi, t: Touched, revision?: string): Promise<void> {
  if (t.aliases) await api.reconfigureAliases();
  if (t.rules) await api.apply(revision);
}

async function recover(s: FirewallSession, before: Snapshot, touched: Touched, revision: string | undefined, cause: unknown, pathCut: boolean): Promise<never> {
  const why = message(cause);
  const code = (cause as DriverError)?.opts?.code;
  if (pathCut && revision) {
    s.log(`${s.target}: no answer over a new connection after applying (${why}); waiting for the firewall to roll back its filter rules (savepoint ${revision})`);
    const back = await waitForFirewall(s, Date.now() + s.conn.rollbackWaitMs);
    if (!back) {
      throw new DriverError(
        `${s.target}: einklang lost its access after applying (${why}), and the firewall did not answer within ${Math.round(s.conn.rollbackWaitMs / 1000)} s; its rollback timer (savepoint ${revision}) should restore the filter rules — check from the console`,
        { code: 'E_LOCKED_OUT', rolledBack: false },
      );
    }
    s.reconnect();
    let byItself = false;
    try {
      const now = await takeSnapshot(s.api);
      byItself = !describeDifference({ rules: before.rules, aliases: new Map() }, { rules: now.rules, aliases: new Map() });
      // Back before the timer fired (the check failed for another reason): revert now, and never leave
      // the timer armed — it would revert a later change to this savepoint.
      if (!byItself) await s.api.revert(revision);
      await s.api.cancelRollback(revision).catch(() => undefined);
      await restoreStaged(s.api, before);
      await activate(s.api, touched);
      await verifyRestored(s, before);
    } catch (e) {
      throw new DriverError(`${s.target}: einklang lost its access after applying (${why}); the firewall answers again, but restoring its previous state failed: ${message(e)}`, { code: 'E_ROLLBACK_INCOMPLETE', rolledBack: false });
    }
    const rules = byItself ? `the firewall rolled back its filter rules by itself (savepoint ${revision})` : `einklang reverted the filter rules to savepoint ${revision} when the firewall answered again`;
    throw new DriverError(`${s.target}: einklang lost its access after applying (${why}); ${rules} and einklang restored the aliases: rolled back, the firewall is as before`, {
      code: code ?? 'E_MANAGEMENT_LOST',
      rolledBack: true,
    });
  }
  try {
    if (revision) {
      await s.api.revert(revision);
      await s.api.cancelRollback(revision).catch(() => undefined); // the rules are back; a timer left running would revert again later
    }
    await restoreStaged(s.api, before);
    await activate(s.api, touched);
    await managementCheck(s);
    await verifyRestored(s, before);
  } catch (e) {
    const how = pathCut ? 'this firewall has no automatic rollback (no savepoint API, or only aliases changed) and restoring over the open session failed' : 'rolling back failed too';
    throw new DriverError(`${s.target}: ${why}; ${how}: ${message(e)} — restore the firewall from its console`, { code: pathCut ? 'E_LOCKED_OUT' : 'E_ROLLBACK_INCOMPLETE', rolledBack: false });
  }
  throw new DriverError(`${s.target}: ${why}; rolled back: ${revision ? `the firewall reverted its filter rules to savepoint ${revision} and ` : ''}einklang restored its snapshot, the firewall is as before`, {
    code: code ?? 'E_APPLY_FAILED',
    rolledBack: true,
  });
}

/** Applies one firewall's changes as a transaction; see the module comment. */
export async function applyFirewallTransaction(s: FirewallSession, changes: Change[]): Promise<void> {
  if (!changes.length) return;
  if (!s.rollbackApi && !s.conn.allowWithoutRollback) {
    throw new DriverError(
      `${s.target}: OPNsense ${s.version} has no savepoint/rollback API (removed in 26.7): refusing to apply without it; nothing was changed. Set allowWithoutRollback: true on the Firewall to apply with einklang's own snapshot and restore`,
      { code: 'E_NO_ROLLBACK' },
    );
  }
  const ops = ordered(changes);
  const touched: Touched = { rules: ops.some((o) => o.change.kind === 'FirewallRule'), aliases: ops.some((o) => o.change.kind === 'FirewallAlias') };
  let before: Snapshot;
  let revision: string | undefined;
  try {
    before = await takeSnapshot(s.api);
    revision = s.rollbackApi && touched.rules ? await savepoint(s) : undefined;
  } catch (e) {
    if ((e as DriverError).opts?.code === 'E_NO_ROLLBACK') throw e;
    throw new DriverError(`${s.target}: preparing the transaction failed (${message(e)}); nothing was changed`, { code: (e as DriverError).opts?.code });
  }

  try {
    await stage(s.api, ops, before);
  } catch (e) {
    try {
      await restoreStaged(s.api, before);
      await verifyRestored(s, before);
    } catch (undo) {
      throw new DriverError(`${message(e)}; undoing the staged changes failed too: ${message(undo)} (nothing was applied; the staged configuration differs)`, { code: (e as DriverError).opts?.code, rolledBack: false });
    }
    throw new DriverError(`${message(e)}; nothing was applied and the staged changes were undone (rolled back)`, { code: (e as DriverError).opts?.code, rolledBack: true });
  }

  try {
    await activate(s.api, touched, revision);
  } catch (e) {
    return recover(s, before, touched, revision, e, false);
  }
  try {
    await managementCheck(s);
  } catch (e) {
    return recover(s, before, touched, revision, e, true);
  }
  if (revision) {
    try {
      await s.api.cancelRollback(revision);
    } catch (e) {
      return recover(s, before, touched, revision, e, false);
    }
  }
}
