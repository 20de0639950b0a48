/**
 * The plain data that the pipeline stages exchange, and the provider contract.
 *
 * Stages (engine/load → expand → validate → resolve → graph → read → diff →
 * plan → render → apply) pass these objects to each other and nothing else:
 * no open connections, no class instances, no closures. That keeps every stage
 * testable on its own and lets a plan be written to disk and applied later.
 */

// ---------------------------------------------------------------- diagnostics

export type Severity = 'error' | 'warning';

/** A position in a manifest file, 1-based like editors and GNU tools count. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** A finding about the input, printed `file:line:col: error CODE: message`. */
export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. `E_SCHEMA`, `E_REF_DANGLING`. */
  code: string;
  message: string;
  pos?: SourcePos;
}

// ------------------------------------------------------------------ manifests

export type Zone = 'school' | 'administration';

/**
 * One manifest document after loading and profile expansion.
 * `spec` is plain JSON exactly as written; `${secret:NAME}` strings are still
 * unresolved (they are resolved only where a value must reach a device).
 */
export interface Resource {
  /** `<environment>/<Kind>/<name>` */
  address: string;
  env: string;
  zone: Zone;
  apiVersion: string;
  kind: string;
  name: string;
  labels: Record<string, string>;
  spec: any;
  /** Where the document starts (its `kind:` key, or the document start). */
  pos: SourcePos;
  /**
   * Positions of values inside the document, keyed by JSON pointer relative
   * to the document root ("/spec/path", "/spec/groups/0"). Used to point
   * diagnostics at the exact offending value.
   */
  positions: Record<string, [line: number, col: number]>;
  /** Directory of the file the document came from (for relative paths such as privateKeyFile). */
  dir: string;
}

// ------------------------------------------------------------ desired objects

/**
 * What one resource means on one target. A Vlan on three switches expands to
 * three DesiredObjects; a SwitchPort range `Gi1/0/1-24` to 24; a File to one.
 */
export interface DesiredObject {
  /** Resource address, plus `[key]` when a resource expands to several objects: `school-a/Vlan/students[core-01]`. */
  address: string;
  /** Address of the resource this object comes from. */
  resource: string;
  kind: string;
  /** Address of the target resource (Server, Switch, ...) the object lives on. */
  target: string;
  /** Identity of the object on its target: a path, a user name, a VLAN id, a port name. */
  id: string;
  /** `absent` plans a delete if the object exists. */
  ensure: 'present' | 'absent';
  /**
   * The managed fields, plain JSON. Only these are compared with live state:
   * fields a manifest does not set are not managed. Strings may contain
   * `${secret:NAME}`; the engine resolves them before reading/diffing and
   * redacts them in plans.
   */
  state: Record<string, unknown>;
  /** Addresses of resources this object depends on (references by name). */
  dependsOn: string[];
  pos: SourcePos;
}

/** A live object as a driver read it. `state` holds at least every field the driver can manage for its kind. */
export interface LiveObject {
  kind: string;
  id: string;
  state: Record<string, unknown>;
}

/** What a reader returns for one target. */
export interface ReadResult {
  /** Keyed by `${kind}\u0000${id}`; `null` means "does not exist". Must contain every requested object. */
  objects: Record<string, LiveObject | null>;
  /**
   * Objects of kinds the driver can enumerate (VLANs on a switch, ...) that
   * were not requested: candidates for prune, import and the unmanaged report.
   */
  unmanaged?: LiveObject[];
}

export function objectKey(kind: string, id: string): string {
  return `${kind}\u0000${id}`;
}

// ---------------------------------------------------------------- the plan

export type Action = 'create' | 'update' | 'delete';

/** One field that differs. `path` is a JSON pointer inside `state`. */
export interface FieldDiff {
  path: string;
  before: unknown;
  after: unknown;
  /** The field is (or contains) a secret; before/after are redacted. */
  sensitive?: boolean;
}

export interface Change {
  address: string;
  resource: string;
  kind: string;
  target: string;
  id: string;
  /** `["create"]`, `["update"]`, `["delete"]`, or `["delete","create"]` for a replace. */
  actions: Action[];
  /** Live state (managed fields plus what the driver reported), secrets redacted. null if absent. */
  before: Record<string, unknown> | null;
  /** Desired state with `<secret:NAME>` placeholders; null for a delete. */
  after: Record<string, unknown> | null;
  diff: FieldDiff[];
  /** sha256 over the canonical JSON of the live object this change was computed from ("absent" objects included). */
  liveFingerprint: string;
  /** Addresses of changes (not resources) that must be applied before this one. */
  dependsOn: string[];
  /** Secrets the `after` state uses: name and sha256 of the value at plan time. */
  secrets?: { name: string; sha256: string }[];
  pos?: SourcePos;
}

// ------------------------------------------------------------ the contract

/**
 * A target as a driver gets it: the device resource with its connection,
 * secrets already resolved (never written anywhere), and relative file paths
 * (privateKeyFile, ...) made absolute.
 */
export interface TargetSpec {
  address: string;
  kind: string;
  name: string;
  zone: Zone;
  spec: any;
  connection: Record<string, any>;
}

/** Options every session honours. */
export interface SessionOptions {
  /** Per-operation timeout in ms. */
  timeoutMs?: number;
  /** Called with human progress notes, never with secret values. */
  log?: (msg: string) => void;
}

/**
 * Read-only view of one target. Planning, drift and import only ever get this
 * (controller-runtime style): a plan cannot write to a device, by type.
 *
 * Guarantees:
 * - one connection per session, reused for every call;
 * - `read` batches: it reads all requested objects in as few round trips as
 *   the device allows (not one command per object);
 * - `read` never changes the target.
 */
export interface TargetReader {
  read(objects: { kind: string; id: string; state: Record<string, unknown> }[]): Promise<ReadResult>;
  close(): Promise<void>;
}

/**
 * Read-write view of one target, used only by apply.
 *
 * A driver implements exactly one of the two write styles:
 *
 * - `applyChange` (non-transactional targets such as servers): applies one
 *   change. When it resolves, the change is durable. When it rejects, the
 *   object is as it was before the call (a failed create leaves nothing, a
 *   failed delete means the object still exists, a failed file write keeps the
 *   old file). The engine calls it once per change, in dependency order.
 *
 * - `applyTransaction` (switches, firewalls): applies all of one target's
 *   changes as one transaction with automatic rollback (revert timer /
 *   checkpoint, confirmed only after the engine's management session still
 *   answers). Resolves only when committed and confirmed; rejects after the
 *   device is back in its previous configuration. A rejection's message says
 *   whether the rollback happened (`rolledBack` on the error).
 *
 * Changes passed in carry real secret values in `after` (resolved by the
 * engine just before the call); drivers must not log them.
 */
export interface TargetWriter extends TargetReader {
  applyChange?(change: Change): Promise<void>;
  applyTransaction?(changes: Change[]): Promise<void>;
}

/** Error thrown by a driver; `rolledBack` tells the user the target is back where it was. */
export class DriverError extends Error {
  constructor(
    message: string,
    public readonly opts: { rolledBack?: boolean; code?: string } = {},
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/** A running simulator (for `einklang lab` and tests). */
export interface RunningSimulator {
  /** e.g. `ssh://127.0.0.1:2222 (lab linux host for demo/Server/web-01)` */
  description: string;
  port: number;
  stop(): Promise<void>;
  /** Simulator-specific access to its in-memory model for tests. */
  model?: unknown;
}

/**
 * A driver: one per device family (`ssh` for Linux, `winrm`, `ios`, `aoscx`).
 * Every driver of an area passes that area's conformance suite.
 */
export interface Driver {
  /** Value of `spec.connection.driver`. */
  name: string;
  /** Target kind it serves (`Server`, `Switch`, ...). */
  targetKind: string;
  /** Object kinds it can read and write. */
  kinds: string[];
  /** True if it implements applyTransaction; false if applyChange. */
  transactional: boolean;
  connectReader(target: TargetSpec, opts?: SessionOptions): Promise<TargetReader>;
  connectWriter(target: TargetSpec, opts?: SessionOptions): Promise<TargetWriter>;
  /** Start a simulator for this target on its loopback host and port (the lab). */
  simulate?(target: TargetSpec, opts?: { faults?: Record<string, unknown> }): Promise<RunningSimulator>;
  /** Static checks of a connection at validate time (host key format, allowUnencrypted, ...). */
  validateConnection?(target: Resource): Diagnostic[];
}

/**
 * How the engine understands one resource kind. Registered in providers/registry.ts.
 */
export interface KindDef {
  kind: string;
  /** Area folder: servers, network, endpoints, software, security, licenses, governance. */
  area: string;
  /** Path of its JSON Schema relative to schemas/: `servers/File.schema.json`. */
  schema: string;
  /** Devices einklang talks to (have spec.connection). */
  isTarget?: boolean;
  /** Engine-internal kinds (Environment, Policy, Reviewer) that have no live state. */
  isMeta?: boolean;
  /**
   * References to other resources: JSON pointer of the referring value and
   * the referenced kind and name. The engine turns them into dependency edges
   * and diagnostics (dangling reference, cross-zone reference).
   */
  references?(res: Resource): { pointer: string; kind: string; name: string }[];
  /**
   * Checks beyond the schema (values that would be unsafe on the device:
   * shell metacharacters in a path, a newline in a switch description). Return
   * diagnostics positioned with `res.positions`.
   */
  validate?(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[];
  /** Desired objects on targets. `ctx` gives every resource of the environment, to follow references. */
  expand?(res: Resource, ctx: ExpandContext): DesiredObject[];
  /**
   * Put a state into canonical form for comparison (file mode "644" -> "0644",
   * sorted group lists). Applied to desired and live state alike.
   */
  normalize?(state: Record<string, unknown>): Record<string, unknown>;
  /** Fields whose change needs delete+create rather than update. */
  replaceOn?: string[];
  /** Objects found live but never deleted by prune (VLAN 1, the management VLAN). */
  protectedLive?(obj: LiveObject, target: Resource): boolean;
  /**
   * `einklang import`: the manifest (metadata.name and spec) that would
   * declare an unmanaged live object exactly as it is. Kinds without it cannot
   * be imported.
   */
  importAs?(obj: LiveObject, target: Resource): { name: string; spec: Record<string, unknown> };
}

export interface ExpandContext {
  byAddress: Map<string, Resource>;
  /** Resource by kind and name in the same environment. */
  lookup(kind: string, name: string): Resource | undefined;
  /** All resources of the environment. */
  resources: Resource[];
}

// ---------------------------------------------------------------- plan file

export const PLAN_FORMAT_VERSION = 1;

export interface PolicyViolation {
  address: string;
  message: string;
  pos?: SourcePos;
  /** Other resources involved (e.g. the administration VLAN a school subnet overlaps). */
  related?: { address: string; pos?: SourcePos }[];
}

export interface PolicyResult {
  name: string;
  enforcement: 'mandatory' | 'advisory';
  passed: boolean;
  violations: PolicyViolation[];
  /** Extra approvals this policy demands (destructive-change cap, emergency). */
  extraApprovals?: number;
}

export interface Approval {
  reviewer: string;
  /** Base64 Ed25519 public key of the signer (must match a Reviewer resource). */
  publicKey: string;
  /** Base64 signature over the plan's `hash` string. */
  signature: string;
  signedAt: string;
}

export interface Plan {
  formatVersion: number;
  engineVersion: string;
  createdAt: string;
  source: { gitRevision: string | null; dirty: boolean; manifestsHash: string; paths: string[] };
  zone: Zone | null;
  environments: string[];
  author: string | null;
  summary: { create: number; update: number; delete: number; replace: number; noop: number; unmanaged: number };
  /** False when a mandatory policy failed, reading failed, or the plan is not complete. */
  applyable: boolean;
  /** False when some target could not be read. */
  complete: boolean;
  /** Targets whose read failed, with the reason. */
  errored: { target: string; message: string }[];
  changes: Change[];
  /** Live objects not declared by any manifest (not pruned). */
  /** `protected`: never pruned (VLAN 1, the management VLAN). */
  unmanaged: { target: string; kind: string; id: string; protected?: boolean }[];
  warnings: Diagnostic[];
  policy: PolicyResult[];
  approvalsRequired: { count: number; groups: string[] };
  /** sha256 over the canonical JSON of everything but `hash` and `approvals`. */
  hash: string;
  approvals: Approval[];
}
