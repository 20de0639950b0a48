/**
 * The `opsi` driver: ClientGroup and SoftwareDeployment on an opsi config
 * server over JSON-RPC (rpc.ts: pinned HTTPS, session cookie, backend_exit).
 *
 * read: two batched requests per target (read.ts), never one call per client.
 *
 * applyChange, one change at a time, each as ONE JSON-RPC batch (one HTTP
 * request; opsiconfd runs a batch's calls in order, each call in its own
 * database transaction, backend/mysql session()):
 * - ClientGroup create: group_createObjects + objectToGroup_createObjects;
 *   update: the membership difference against the group as it is now
 *   (objectToGroup_createObjects / _deleteObjects) and group_updateObject for
 *   the description; delete: group_deleteObjects with the type (memberships
 *   go with it, ON DELETE CASCADE). Never group_delete(id): it deletes every
 *   group of that id, ProductGroups included (obj_group.py).
 *   When a call of the batch fails, the calls that succeeded are undone in a
 *   second batch (delete what was created, re-create what was removed,
 *   group_insertObject of the group as it was), so a failed change leaves
 *   the group as it was, and the error says so (rolledBack).
 * - SoftwareDeployment: the clients that need the action are computed again
 *   from a fresh read (same rule as the plan, and the product is checked to
 *   still be on each client's depot), then ONE productOnClient_updateObjects
 *   sets `actionRequest` on all of them (an upsert: clients without a
 *   ProductOnClient get one). It does not wait for clients to install.
 *   setProductActionRequestForHostGroup is not used: it sets the request on
 *   every member whatever its state (a converged client would reinstall),
 *   works from the group's live members (which this plan may be changing),
 *   and is deprecated in opsi 4.3 (opsiconfd backend/rpc/ext_group_actions.py,
 *   `@rpc_method(deprecated=True)`; python-opsi 4.2.0.313
 *   tests/test_backend_extend_d_40_group_actions.py shows the same
 *   all-members behaviour in 4.2). setProductActionRequest would be one call
 *   per client.
 *
 * opsi 4.2 (opsiconfd 4.2 on python-opsi) speaks the same JSON-RPC methods
 * with the same parameter conventions; the interface snapshot in the corpus
 * (python-opsi-common tests/data/client/jsonrpc/interface.json, 2021) lists
 * every method used here with these parameters. What was not checked line by
 * line there: the session limit (30 per address) and the cookie handling,
 * which this driver copes with either way (rpc.ts).
 */
import { DriverError, type ChangeWriter, type Driver, type ReadRequest, type SessionOptions, type TargetSpec } from '../../../engine/contract.js';
import type { Change, ReadResult } from '../../../engine/model.js';
import type { Clock } from '../../kit/clock.js';
import { ApiError } from '../../kit/errors.js';
import type { RpcCall, RpcOutcome } from '../../kit/jsonrpc.js';
import { CLIENT_GROUP, SOFTWARE_DEPLOYMENT } from '../kinds.js';
import { readOpsi } from './read.js';
import { OpsiRpc } from './rpc.js';

/** One write of a change and how to take it back. */
interface Step {
  call: RpcCall;
  undo?: RpcCall;
}

interface LiveGroup {
  id: string;
  description: string | null;
  notes: string | null;
  parentGroupId: string | null;
}

const HOST_GROUP = 'HostGroup';
/** Transport failures after a request was sent: whether the server acted on it is unknown. */
const ANSWER_LOST = new Set(['E_TIMEOUT', 'E_CONNECTION_DROPPED', 'E_TRUNCATED_RESPONSE', 'E_BAD_RESPONSE']);
const membership = (groupId: string, clients: string[]) => clients.map((objectId) => ({ type: 'ObjectToGroup', groupType: HOST_GROUP, groupId, objectId }));

class OpsiSession implements ChangeWriter {
  readonly mode = 'change' as const;
  private readonly env: string;
  private readonly scope: string | undefined;

  constructor(
    private readonly rpc: OpsiRpc,
    target: TargetSpec,
  ) {
    this.env = target.address.split('/')[0];
    this.scope = typeof target.spec?.groupScope === 'string' ? target.spec.groupScope : undefined;
  }

  read(objects: ReadRequest[]): Promise<ReadResult> {
    return this.rpc.operation(async () => {
      const { objects: found, unmanaged } = await readOpsi(this.rpc, objects, this.scope, this.env);
      return { objects: found, unmanaged };
    });
  }

  applyChange(change: Change): Promise<void> {
    return this.rpc.operation(() => this.apply(change));
  }

  private async apply(change: Change): Promise<void> {
    if (change.kind === SOFTWARE_DEPLOYMENT) return this.deploy(change);
    if (change.kind !== CLIENT_GROUP) throw new DriverError(`the opsi driver does not manage ${change.kind}`, { code: 'E_UNSUPPORTED' });
    const action = change.actions.join(',');
    const id = change.id;
    const want = (change.after ?? {}) as { clients?: string[]; description?: string };
    const clients = (want.clients ?? []).map((c) => c.toLowerCase());
    if (action === 'delete') return this.write(`delete host group ${id}`, [{ call: { method: 'group_deleteObjects', params: [[{ type: HOST_GROUP, id }]] } }]);
    if (action === 'create') {
      const group = { type: HOST_GROUP, id, ...(want.description !== undefined ? { description: want.description } : {}) };
      const steps: Step[] = [{ call: { method: 'group_createObjects', params: [[group]] }, undo: { method: 'group_deleteObjects', params: [[{ type: HOST_GROUP, id }]] } }];
      if (clients.length) steps.push({ call: { method: 'objectToGroup_createObjects', params: [membership(id, clients)] } });
      return this.write(`create host group ${id}`, steps);
    }
    if (action !== 'update') throw new DriverError(`unsupported actions ${action} for ${CLIENT_GROUP} ${id}`, { code: 'E_UNSUPPORTED' });
    const [groups, members] = (await this.rpc.batchResults([
      { method: 'group_getObjects', params: [['id', 'description', 'notes', 'parentGroupId'], { type: HOST_GROUP, id }] },
      { method: 'objectToGroup_getObjects', params: [['groupId', 'objectId'], { groupType: HOST_GROUP, groupId: id }] },
    ])) as [LiveGroup[], { objectId: string }[]];
    const live = groups.find((g) => g.id === id);
    if (!live) throw new DriverError(`host group ${id} no longer exists: re-plan`, { code: 'E_STALE' });
    const have = new Set(members.map((m) => m.objectId));
    const adds = want.clients ? clients.filter((c) => !have.has(c)) : [];
    const removes = want.clients ? [...have].filter((c) => !clients.includes(c)) : [];
    const steps: Step[] = [];
    if (adds.length) steps.push({ call: { method: 'objectToGroup_createObjects', params: [membership(id, adds)] }, undo: { method: 'objectToGroup_deleteObjects', params: [membership(id, adds)] } });
    if (removes.length) steps.push({ call: { method: 'objectToGroup_deleteObjects', params: [membership(id, removes)] }, undo: { method: 'objectToGroup_createObjects', params: [membership(id, removes)] } });
    if (want.description !== undefined && want.description !== live.description) {
      steps.push({
        call: { method: 'group_updateObject', params: [{ type: HOST_GROUP, id, description: want.description }] },
        undo: { method: 'group_insertObject', params: [{ type: HOST_GROUP, ...live }] },
      });
    }
    return this.write(`update host group ${id}`, steps);
  }

  /** Sets the deployment's action request on every client that needs it, in one call. */
  private async deploy(change: Change): Promise<void> {
    const { deployments } = await readOpsi(this.rpc, [{ kind: SOFTWARE_DEPLOYMENT, id: change.id, state: change.after ?? {} }], this.scope, this.env);
    const plan = deployments.get(change.id)!;
    if (!plan.targets.length) return;
    const { product, action } = plan.request;
    const pocs = plan.targets.map((t) => ({ type: 'ProductOnClient', productId: product, productType: t.productType, clientId: t.clientId, actionRequest: action }));
    await this.write(`set action request ${action} for ${product} on ${pocs.length} client(s)`, [{ call: { method: 'productOnClient_updateObjects', params: [pocs] } }]);
  }

  /** Sends the steps as one batch; on a failed call, undoes the ones that succeeded (see the module comment). */
  private async write(what: string, steps: Step[]): Promise<void> {
    if (!steps.length) return;
    let outcomes: RpcOutcome[];
    try {
      outcomes = await this.rpc.batch(steps.map((s) => s.call));
    } catch (e) {
      // the request went out and no answer came back: opsiconfd may have run some or all of the calls
      const err = e as ApiError;
      if (!(err instanceof ApiError) || !ANSWER_LOST.has(err.code) || err.detail.notSent) throw e;
      throw new DriverError(`${what}: ${err.message}; the answer was lost, so the server may have made some of these writes: re-plan to see its state`, { code: err.code });
    }
    const failed = outcomes.findIndex((o) => !o.ok);
    if (failed < 0) return;
    const cause = (outcomes[failed] as Extract<RpcOutcome, { ok: false }>).error;
    const undo = steps.filter((s, i) => outcomes[i].ok && s.undo).map((s) => s.undo!);
    if (!undo.length) throw new DriverError(`${what}: ${cause.message}; nothing was changed`, { code: cause.code, rolledBack: true });
    let undone: RpcOutcome[];
    try {
      undone = await this.rpc.batch(undo.reverse());
    } catch (e) {
      undone = undo.map(() => ({ ok: false, error: e as never }));
    }
    const left = undone.map((o, i) => (o.ok ? undefined : undo[i].method)).filter(Boolean);
    if (left.length) {
      throw new DriverError(`${what}: ${cause.message}; undoing the writes that had succeeded failed too (${left.join(', ')}): the group is half changed, re-plan to see it`, { code: cause.code });
    }
    throw new DriverError(`${what}: ${cause.message}; the writes that had succeeded were undone`, { code: cause.code, rolledBack: true });
  }

  async close(): Promise<void> {
    await this.rpc.close();
  }
}

/** The opsi driver; `clock` drives backoff waits and the memo of refusals (tests pass a VirtualClock). */
export function opsiDriver(o: { clock?: Clock } = {}): Driver {
  const open = async (t: TargetSpec, opts: SessionOptions = {}) => new OpsiSession(await OpsiRpc.open(t, opts, o.clock), t);
  return { name: 'opsi', connectReader: open, connectWriter: open };
}
