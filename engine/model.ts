/**
 * The data model: the plain data that the pipeline stages exchange.
 *
 * Stages (engine/load → expand → validate → resolve → graph → read → diff →
 * plan → render → apply) pass these objects to each other and nothing else:
 * no open connections, no class instances, no closures. That keeps every stage
 * testable on its own and lets a plan be written to disk and applied later.
 * The provider contract (what a driver and a kind must do) is in contract.ts.
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
  /**
   * What the plan must tell the reviewer about how this target's changes
   * would be applied, learnt while reading (a firewall firmware without a
   * rollback API). Shown as plan warnings when the target has changes.
   */
  warnings?: string[];
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
  /**
   * Secrets the `after` state uses: name and a keyed fingerprint of the value
   * at plan time (`hmac-sha256:<hex>` with the plan's `secretSalt`), so a
   * rotation shows as a change and makes an approved plan stale.
   */
  secrets?: { name: string; fingerprint: string }[];
  pos?: SourcePos;
}

// ---------------------------------------------------------------- plan file

export const PLAN_FORMAT_VERSION = 1;

export interface PolicyViolation {
  address: string;
  message: string;
  /** A specific diagnostic code (`E_LICENSE_SEATS`); default E_POLICY (mandatory) or W_POLICY (advisory). */
  code?: string;
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
  /** License pools as the seat-compliance policy counted them (the markdown plan's license table). */
  licenses?: LicenseUsage[];
}

/** One license pool in a plan: what it offers, what its server says is in use, what the plan's rollouts demand. */
export interface LicenseUsage {
  /** Address of the License resource. */
  address: string;
  /** The pool's name on its license server. */
  pool: string;
  seats: number;
  /** Seats checked out on the license server (live), null when the pool does not exist there yet or was not read. */
  assigned: number | null;
  /** Distinct devices the pool's covered deployments and app assignments reach. */
  demand: number;
  /** True when part of the demand could not be counted (dynamic groups not read yet, assignments to all devices). */
  demandIncomplete?: boolean;
  /** `YYYY-MM-DD`, or null when the pool does not expire. */
  expires: string | null;
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
  /**
   * Approvals apply will demand: `count` in total, that is `base` (the
   * strictest rule of the plan's environments, from the trusted revision)
   * plus `extra` (policies such as the destructive-change cap and the
   * network-risk flags); reviewers from `groups`.
   */
  approvalsRequired: { count: number; groups: string[]; base?: number; extra?: number };
  /**
   * Where the rules that gate this plan came from (engine/trust.ts): the
   * trusted git revision, or the working tree outside git.
   */
  trust?: { source: 'git' | 'working-tree'; ref: string | null; commit: string | null };
  /**
   * Changes the plan makes to those rules (approvals, change windows,
   * management networks, reviewers, policies), compared with the trusted
   * revision. Listed first in every plan format; approved under the trusted rules.
   */
  governance?: { address: string; kind: 'Environment' | 'Reviewer' | 'Policy'; action: 'create' | 'update' | 'delete'; fields: string[]; pos?: SourcePos }[];
  /** Random per plan (base64): the HMAC key of the secret fingerprints in `changes[].secrets`. */
  secretSalt?: string;
  /** sha256 over the canonical JSON of everything but `hash` and `approvals`. */
  hash: string;
  approvals: Approval[];
}
