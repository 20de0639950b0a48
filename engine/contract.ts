/**
 * The provider contract: what a kind and a driver promise the engine, and the
 * catalog through which the engine reaches them.
 *
 * The engine imports nothing from `providers/`, `policies/` or `cli/`: the
 * composition root (`cli/catalog.ts`) builds a {@link Catalog} and hands it
 * in. Drivers are registered as {@link DriverEntry}s whose code loads only
 * when a run needs that driver, so a plan of Linux servers never loads the
 * WinRM or switch code. The data the stages exchange is in model.ts.
 *
 * Reads and writes are separate capabilities (controller-runtime style):
 * planning, drift and import get a {@link TargetReader}, which cannot write
 * by type; only apply gets a {@link TargetWriter}.
 */
import type { Change, DesiredObject, Diagnostic, LiveObject, PolicyResult, ReadResult, Resource, Zone } from './model.js';

// ---------------------------------------------------------------- sessions

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
  /** The target's spec without `connection` (prune, managementVlan, ...); secret references unresolved. */
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

/** One object a read asks for. */
export interface ReadRequest {
  kind: string;
  /** Identity on the target (a path, a VLAN id, a display name). */
  id: string;
  /**
   * The managed fields the run wants the object to have. A hint that lets a
   * driver read less: the ssh driver sends the desired content's hash and
   * gets the live content back only when it differs; winrm takes a registry
   * value's type from it. A read never writes, whatever this says.
   *
   * Secret references are placeholders (`<secret:NAME>`) unless the driver
   * declares {@link Driver.readsResolvedSecrets}; then they hold the values
   * (the ssh driver hashes file content that may embed a secret).
   */
  state: Record<string, unknown>;
}

/**
 * Read-only view of one target. Planning, drift and import only ever get this.
 *
 * Guarantees:
 * - one connection per session, reused for every call;
 * - `read` batches: it reads all requested objects in as few round trips as
 *   the device allows (not one command per object);
 * - `read` returns an entry for every requested object (`null`: absent);
 * - `read` never changes the target.
 */
export interface TargetReader {
  read(objects: ReadRequest[]): Promise<ReadResult>;
  /** Ends the session (logs out where the device counts sessions). Never throws. */
  close(): Promise<void>;
}

/**
 * A writer for targets without transactions (servers, API-managed systems):
 * apply calls `applyChange` once per change, in dependency order, one at a
 * time per target.
 *
 * When `applyChange` resolves, the change is durable. When it rejects, the
 * object is as it was before the call: a failed create leaves nothing, a
 * failed delete means the object still exists, a failed file write keeps the
 * old file. Where that cannot be guaranteed (an API that created an object
 * and then refused its assignment, and the clean-up failed too), the error's
 * message says exactly what exists now.
 */
export interface ChangeWriter extends TargetReader {
  readonly mode: 'change';
  applyChange(change: Change): Promise<void>;
}

/**
 * A writer for targets with transactions (switches, firewalls): apply calls
 * `applyTransaction` once with all of the target's changes, in dependency
 * order.
 *
 * Resolves only when the transaction is committed and confirmed (confirmed
 * only after the management session still answers). Rejects after the device
 * is back in its previous configuration (revert timer, checkpoint, savepoint)
 * with `rolledBack: true` on the {@link DriverError}, or, if the driver cannot
 * tell, without it.
 */
export interface TransactionWriter extends TargetReader {
  readonly mode: 'transaction';
  applyTransaction(changes: Change[]): Promise<void>;
}

/**
 * Read-write view of one target, used only by apply. Changes passed in carry
 * real secret values in `after` (resolved just before the call); drivers must
 * not log them.
 */
export type TargetWriter = ChangeWriter | TransactionWriter;

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

/**
 * A driver: one per device family (`ssh` for Linux, `winrm`, `ios`, `aoscx`,
 * `intune`, ...). Every driver of an area passes that area's conformance
 * suite (test/servers/conformance.ts, test/network/conformance.ts,
 * test/support/api-conformance.ts).
 */
export interface Driver {
  /** Value of `spec.connection.driver`. */
  name: string;
  /** read() needs desired state with secret values (see {@link ReadRequest.state}). Default false. */
  readsResolvedSecrets?: boolean;
  /** Opens a read-only session; checks the pinned identity (host key, certificate) before sending credentials. */
  connectReader(target: TargetSpec, opts?: SessionOptions): Promise<TargetReader>;
  /** Opens a read-write session, with the same checks. */
  connectWriter(target: TargetSpec, opts?: SessionOptions): Promise<TargetWriter>;
}

// ---------------------------------------------------------------- the lab

/** A running simulator (for `einklang lab` and tests). */
export interface RunningSimulator {
  /** e.g. `ssh://127.0.0.1:2222 (lab linux host for demo/Server/web-01)` */
  description: string;
  port: number;
  /** The identity a manifest pins (SSH host key fingerprint, TLS certificate fingerprint), when it has one. */
  fingerprint?: string | null;
  /** A second pinned identity, for a simulator with two endpoints (AOS-CX: REST over TLS on `port`, its CLI over SSH). */
  sshFingerprint?: string;
  stop(): Promise<void>;
  /** Simulator-specific access to its in-memory model for tests. */
  model?: unknown;
}

/** What a simulator may know besides its target. */
export interface LabContext {
  /**
   * Resources of the target's environment. A simulated system starts with
   * what these assume exists outside einklang's control (enrolled devices a
   * DeviceGroup names, products a SoftwareDeployment asks for, ...).
   */
  resources: Resource[];
  /** Simulator-specific fault injection and behaviour switches. */
  faults?: Record<string, unknown>;
}

/** The lab side of a driver, kept off the product contract: loaded only by `einklang lab` and tests. */
export interface LabDriver {
  /** Starts a simulator for this target on its loopback host and port. */
  simulate(target: TargetSpec, ctx: LabContext): Promise<RunningSimulator>;
}

// ---------------------------------------------------------------- kinds

export interface ExpandContext {
  byAddress: Map<string, Resource>;
  /** Resource by kind and name in the same environment. */
  lookup(kind: string, name: string): Resource | undefined;
  /** All resources of the environment. */
  resources: Resource[];
}

/** How the engine understands one resource kind. Registered in providers/registry.ts (or policies/ for Policy). */
export interface KindDef {
  kind: string;
  /** Area folder: servers, network, endpoints, software, security, licenses, governance, core. */
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
   * and diagnostics (dangling reference, cross-zone reference, a kind no area
   * registers). The referring resource is applied after the one it names,
   * unless `reverse`: then the named one waits for the referring one (a
   * license pool grows before the deployments it covers roll out, and a
   * failed pool change holds them back).
   */
  references?(res: Resource): { pointer: string; kind: string; name: string; reverse?: boolean }[];
  /**
   * Loads what `validate` needs, before the first resource of this kind is
   * validated (the CEL compiler for Policy). Called once per run, only when
   * the kind occurs.
   */
  prepare?(): Promise<void>;
  /**
   * Checks beyond the schema (values that would be unsafe on the device:
   * shell metacharacters in a path, a newline in a switch description). Return
   * diagnostics positioned with `posOf` (engine/positions.ts).
   */
  validate?(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[];
  /** Desired objects on targets. `ctx` gives every resource of the environment, to follow references. */
  expand?(res: Resource, ctx: ExpandContext): DesiredObject[];
  /**
   * Put a state into canonical form for comparison (file mode "644" -> "0644",
   * sorted group lists). Applied to desired and live state alike.
   */
  normalize?(state: Record<string, unknown>): Record<string, unknown>;
  /**
   * Fields holding the content of an object on the device (a file's content).
   * Their live value appears in a plan only when the trusted revision already
   * manages the object; otherwise the plan shows size and hash only.
   */
  liveContentFields?: string[];
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

// ---------------------------------------------------------------- catalog

/**
 * A driver as registered: cheap static parts, and the code behind a loader.
 * Registering one is one line in providers/registry.ts.
 */
export interface DriverEntry {
  /** Value of `spec.connection.driver`. */
  name: string;
  /**
   * Static checks of a connection at validate time (host key format,
   * allowUnencrypted, ...). Must not load the driver's code, connect, or read
   * a secret.
   */
  validateConnection?(target: Resource): Diagnostic[];
  /**
   * Every host the driver contacts for this connection, defaults included
   * (intune: the Graph host and the login host). Checked against the
   * environment's managementNetworks before anything is sent. Default: the
   * connection's `host` and `*Host` fields.
   */
  hosts?(connection: Record<string, unknown>): { field: string; host: unknown }[];
  /** Loads the driver's code (on first use; the catalog caches it). */
  load(): Promise<Driver>;
  /** Loads the driver's simulator (lab and tests only). */
  loadLab?(): Promise<LabDriver>;
}

/** What a plan read of one desired object: its live state (null: absent), for policies that need what exists, not only what changes. */
export interface ObservedObject {
  /** Address of the desired object (`env/Kind/name[key]`). */
  address: string;
  /** Address of the resource it comes from. */
  resource: string;
  kind: string;
  target: string;
  id: string;
  /** Live state as the driver read it (secrets redacted), or null when the object does not exist. */
  state: Record<string, unknown> | null;
}

/** Input of the policy stages. */
export interface PolicyInput {
  /** Resources of every environment in the repository (repository-wide checks such as zone separation). */
  resources: Resource[];
  /** Resources of the run's environments: what is checked and reported. */
  zoneResources: Resource[];
}

/** The policy engine as the engine sees it (policies/ implements it). */
export interface PolicySet {
  /** Validate-stage policies: built-ins plus the run's validate-stage Policy resources. */
  validate(input: PolicyInput): Promise<PolicyResult[]>;
  /**
   * Plan-stage policies: everything validate checks (pass `validated` to reuse
   * those results), plus the policies over planned changes.
   */
  plan(input: PolicyInput & { changes: Change[]; observed?: ObservedObject[]; validated?: PolicyResult[] }): Promise<PolicyResult[]>;
  /** Violations as GNU-style diagnostics (E_POLICY errors for mandatory, W_POLICY warnings for advisory). */
  diagnostics(results: PolicyResult[]): Diagnostic[];
}

/** Everything the engine knows about kinds, drivers and policies, built by the composition root. */
export interface Catalog {
  readonly kinds: readonly KindDef[];
  kind(name: string): KindDef | undefined;
  driverEntry(name: string): DriverEntry | undefined;
  /** Loads (once) and returns a driver; rejects for an unknown name. */
  driver(name: string): Promise<Driver>;
  readonly policies: PolicySet;
}
