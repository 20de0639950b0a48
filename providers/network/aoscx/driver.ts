/**
 * Driver `aoscx`: HPE Aruba AOS-CX switches: REST API v10.x over HTTPS for
 * reads and writes, the CLI over SSH for the automatic rollback.
 *
 * Evidence, and the decisions it led to:
 * - Auto-rollback exists only in the CLI: `checkpoint auto <1-60>` "starts
 *   auto checkpoint mode ... the switch temporarily saves the runtime
 *   configuration as a checkpoint ... If the checkpoint auto confirm command
 *   is not entered during the specified time lapse interval, the previous
 *   runtime configuration is restored" (AOS-CX 10.04 command reference,
 *   techhub.hpe.com OS-CX_10.04 GUID-3AF7EBD5-218F-46E2-90D0-021B8EDBF1ED;
 *   the same text for 10.01-10.06). The REST API has no auto checkpoint
 *   (pyaoscx @cdda613 and the aoscx Ansible collection @c6039d8 only copy
 *   fullconfigs: aoscx_checkpoint copies running-config to a named checkpoint
 *   or startup-config and back). So the timer is started and confirmed on an
 *   SSH CLI session.
 * - REST or CLI for the writes: REST. The auto checkpoint restores the whole
 *   runtime configuration, which is one configuration database whichever
 *   interface wrote to it ("Checkpoints are stored in database format ...
 *   they contain a state of the configuration", Aruba community, "ArubaOS-CX
 *   - Managing Configuration with Checkpoints"; the REST API "can access and
 *   change every configurable aspect of the switch as modeled in the
 *   configuration and state database", REST API guide 10.02 "REST API access
 *   modes"). No HPE text says in so many words that REST writes made during
 *   auto checkpoint mode are rolled back (UNVERIFIED); this driver does not
 *   rely on it blindly: a rollback counts only when the configuration read
 *   back equals the snapshot (transaction.ts), and a named checkpoint taken
 *   before the change (PUT /fullconfigs/<cp>?from=running-config, the
 *   aoscx_checkpoint module's call) is restored explicitly whenever the switch
 *   still answers. REST writes are structured (no CLI parsing of free text)
 *   and answer with HTTP status codes.
 * - Writes keep what einklang does not manage: PUT replaces all writable
 *   attributes of an object ("all the operations to change the device
 *   configuration must use the HTTP PUT verb. It means that the original
 *   attributes must be retrieved first, then change the values required, and
 *   finally perform the change", pyaoscx DESIGN.md @cdda613; pyaoscx reads
 *   with `selector=writable` and PUTs that dict back). So a transaction reads
 *   `?depth=2&selector=writable` of the VLAN and interface tables once,
 *   merges the managed fields into each object and PUTs the merged object.
 *   PATCH is not used: it cannot remove a map entry (a VLAN from a trunk).
 * - Sessions: "The maximum number of concurrent HTTPS sessions per user per
 *   switch is six. There is an upper limit of 48 total sessions per switch
 *   ... HTTPS sessions will automatically time out after 20 minutes of
 *   inactivity" (AOS-CX 10.06 REST API guide, "Authenticating REST API
 *   sessions"); the Ansible collection's users ran into it when modules did
 *   not log out (aruba/aoscx-ansible-collection issue #95). So one session
 *   per target is reused for every request, every session is logged out
 *   (also the one replaced on reconnect and the management check's), and a
 *   login refused for the session limit is reported as such (the status code
 *   and wording of that refusal are not documented: UNVERIFIED; the driver
 *   recognises "session limit" in the answer).
 * - Read-only API: "On 6300 switches or 6400 switches, by default, the HTTPS
 *   server is enabled in read-write mode on the mgmt VRF. If you enable the
 *   HTTPS server on a different VRF, the HTTPS server is enabled in read-only
 *   mode" (10.06 reference, `https-server rest access-mode`); there write
 *   methods are not offered (a write answers 404). A 404 to a write of an
 *   object that GET finds is reported as a read-only API, naming the fix.
 *
 * Transaction: named checkpoint (REST) -> `checkpoint auto N` (SSH) -> writes
 * (REST) -> read-back -> management check (the open session and a fresh
 * login) -> `checkpoint auto confirm` (SSH) -> save to startup-config (REST).
 */
import { DriverError } from '../../../engine/types.js';
import { CliSession, type CliConnection } from '../cli-session.js';
import type { SwitchConnectionSettings } from '../connection.js';
import { cloneConfig, defaultPort, type PortConfig, type SwitchConfig, type SwitchOp } from '../model.js';
import { switchDriver } from '../switch-driver.js';
import type { TransactionDevice } from '../transaction.js';
import { AoscxClient, type AoscxConnection } from './client.js';
import { aoscxNormalPort, restBodyFromPort, switchConfigFromRest } from './parsers.js';

async function readConfig(c: AoscxClient): Promise<SwitchConfig> {
  const [vlans, interfaces] = await Promise.all([c.ok('GET', '/system/vlans?depth=2'), c.ok('GET', '/system/interfaces?depth=2')]);
  return switchConfigFromRest({}, vlans, interfaces);
}

const enc = (port: string) => encodeURIComponent(port);

/** The open REST session and, once a transaction needs it, the CLI session; both replaced on reconnect. */
class Sessions {
  private cliSession?: CliSession;

  constructor(
    public client: AoscxClient,
    readonly conn: AoscxConnection,
    readonly ssh: CliConnection,
    readonly label: string,
    readonly name: string,
    private readonly timeoutMs: number,
  ) {}

  async cli(timeoutMs = this.timeoutMs): Promise<CliSession> {
    if (!this.cliSession?.alive) this.cliSession = await CliSession.open(this.ssh, { timeoutMs, label: this.label, setup: ['no page'], requirePrivileged: true });
    return this.cliSession;
  }

  async login(timeoutMs = this.timeoutMs): Promise<AoscxClient> {
    const c = new AoscxClient(this.conn, { timeoutMs, label: this.label });
    await c.login(timeoutMs);
    return c;
  }

  /** Log the old REST session out (freeing it on the switch), log in anew; the CLI session reopens when next needed. */
  async reconnect(timeoutMs = this.timeoutMs): Promise<void> {
    await this.client.close(Math.min(timeoutMs, 2000));
    this.cliSession?.close();
    this.cliSession = undefined;
    this.client = await this.login(timeoutMs);
  }

  async close(): Promise<void> {
    this.cliSession?.close();
    await this.client.close();
  }
}

class AoscxTransaction implements TransactionDevice {
  private current?: SwitchConfig;
  private readonly checkpoint = `einklang-${Date.now().toString(36)}`;

  constructor(
    private readonly s: Sessions,
    private readonly settings: SwitchConnectionSettings,
  ) {}

  private get c(): AoscxClient {
    return this.s.client;
  }

  portDefault(): PortConfig {
    return defaultPort('access');
  }

  normalizePort(p: PortConfig): PortConfig {
    return aoscxNormalPort(p);
  }

  async readConfig(): Promise<SwitchConfig> {
    const config = await readConfig(this.c);
    this.current = cloneConfig(config); // apply() keeps this copy up to date; the caller's stays as read
    return config;
  }

  async begin(): Promise<void> {
    await this.c.ok('PUT', `/fullconfigs/${this.checkpoint}?from=${this.c.base}/fullconfigs/running-config`);
    let out: string;
    try {
      out = await (await this.s.cli()).run(`checkpoint auto ${this.settings.revertMinutes}`);
    } catch (err) {
      await this.dropCheckpoint();
      throw err;
    }
    if (!/Auto checkpoint mode expires in \d+ minute/i.test(out)) {
      await this.dropCheckpoint();
      const said = out.trim().split('\n')[0] || '(no answer)';
      if (/already/i.test(said)) {
        throw new DriverError(`${this.s.name} is in auto checkpoint mode already (${said}): an earlier change awaits its confirmation or rollback; nothing was changed`, { code: 'E_NET_PENDING' });
      }
      throw new DriverError(`${this.s.name} refused \`checkpoint auto ${this.settings.revertMinutes}\`: ${said}; nothing was changed`, { code: 'E_NET_BEGIN' });
    }
  }

  /** A write that must succeed; a 404 for an object that exists means the API is read-only. */
  private async write(method: string, path: string, body: unknown, timeoutMs: number): Promise<void> {
    const r = await this.c.request(method, path, body, { timeoutMs });
    if (r.status >= 200 && r.status < 300) return;
    if (r.status === 404) {
      const exists = await this.c.request('GET', path, undefined, { timeoutMs }); // POST: the collection
      if (exists.status === 200) {
        throw new DriverError(
          `${this.s.name}: the REST API is read-only (${method} ${path} answered 404 for an object that exists): AOS-CX serves HTTPS read-only on a VRF other than mgmt; ` +
            'manage the switch through the mgmt VRF, or set `https-server rest access-mode read-write`',
          { code: 'E_NET_API_READ_ONLY' },
        );
      }
    }
    throw new Error(`${method} ${path}: HTTP ${r.status} ${r.json?.message ?? r.text.slice(0, 200)}`.trim());
  }

  async apply(ops: SwitchOp[]): Promise<void> {
    const cur = this.current!;
    const t = this.settings.verifyTimeoutMs; // each write is small: a long silence means the path is gone
    // the writable attributes as the switch has them now, to merge into (PUT replaces them all)
    const needs = (pred: (o: SwitchOp) => boolean) => ops.some(pred);
    const [vlansW, portsW]: Record<string, any>[] = await Promise.all([
      needs((o) => o.op === 'vlan-set' && !!cur.vlans[String(o.id)]) ? this.c.ok('GET', '/system/vlans?depth=2&selector=writable', undefined, { timeoutMs: t }) : {},
      needs((o) => o.op === 'port-set' || o.op === 'port-default') ? this.c.ok('GET', '/system/interfaces?depth=2&selector=writable', undefined, { timeoutMs: t }) : {},
    ]);
    for (const o of ops) {
      if (o.op === 'vlan-set') {
        if (cur.vlans[String(o.id)]) await this.write('PUT', `/system/vlans/${o.id}`, { ...(vlansW[String(o.id)] ?? {}), name: o.name }, t);
        else await this.write('POST', '/system/vlans', { id: o.id, name: o.name }, t);
        cur.vlans[String(o.id)] = { name: o.name };
      } else if (o.op === 'vlan-delete') {
        await this.write('DELETE', `/system/vlans/${o.id}`, undefined, t);
        delete cur.vlans[String(o.id)];
      } else {
        const next = aoscxNormalPort(o.op === 'port-default' ? defaultPort('access') : { ...(cur.ports[o.port] ?? defaultPort('access')), ...o.set });
        const writable = portsW[o.port] ?? portsW[enc(o.port)] ?? {};
        await this.write('PUT', `/system/interfaces/${enc(o.port)}`, { ...writable, ...restBodyFromPort(next, this.c.base) }, t);
        cur.ports[o.port] = next;
      }
    }
  }

  async verifyManagement(): Promise<void> {
    const t = this.settings.verifyTimeoutMs;
    await this.c.ok('GET', '/system', undefined, { timeoutMs: t });
    const fresh = await this.s.login(t);
    try {
      await fresh.ok('GET', '/system', undefined, { timeoutMs: t });
    } finally {
      await fresh.close(t);
    }
  }

  async confirm(): Promise<void> {
    const out = await (await this.s.cli()).run('checkpoint auto confirm');
    if (!/checkpoint \S+ created/i.test(out)) throw new Error(`checkpoint auto confirm: ${out.trim().split('\n')[0] || '(no answer)'}`);
  }

  async save(): Promise<void> {
    await this.c.ok('PUT', `/fullconfigs/startup-config?from=${this.c.base}/fullconfigs/running-config`);
    await this.dropCheckpoint();
  }

  recoveryHint(): string {
    return `checkpoint ${this.checkpoint} on the switch holds its configuration from before the change`;
  }

  cleanup(): Promise<void> {
    return this.dropCheckpoint();
  }

  private async dropCheckpoint(): Promise<void> {
    await this.c.request('DELETE', `/fullconfigs/${this.checkpoint}`).catch(() => undefined);
  }

  /**
   * Restore the named checkpoint taken before the change (the auto checkpoint
   * may have fired already; restoring the same configuration again is
   * harmless), then end auto checkpoint mode, whose checkpoint is now the
   * same configuration.
   */
  async revertNow(): Promise<void> {
    const t = { timeoutMs: this.settings.verifyTimeoutMs };
    const cp = await this.c.request('GET', `/fullconfigs/${this.checkpoint}`, undefined, t);
    if (cp.status === 200) await this.c.ok('PUT', `/fullconfigs/running-config?from=${this.c.base}/fullconfigs/${this.checkpoint}`, undefined, t);
    await (await this.s.cli(this.settings.verifyTimeoutMs)).run('checkpoint auto confirm', this.settings.verifyTimeoutMs).catch(() => undefined);
  }

  async reconnect(): Promise<void> {
    await this.s.reconnect(this.settings.verifyTimeoutMs);
  }
}

export const aoscxDriver = switchDriver<Sessions>({
  name: 'aoscx',
  async connect(target, settings, opts) {
    const c = target.connection;
    const conn: AoscxConnection = {
      host: c.host,
      port: c.port ?? 443,
      user: c.user,
      password: c.password,
      tlsFingerprint: c.tlsFingerprint,
      apiVersion: c.apiVersion,
    };
    if (!conn.tlsFingerprint) throw new DriverError(`${target.address}: no tlsFingerprint pinned; refusing to connect`, { code: 'E_TLS_FINGERPRINT_MISSING' });
    if (!c.hostKeyFingerprint) throw new DriverError(`${target.address}: no hostKeyFingerprint pinned for the CLI (checkpoint auto); refusing to connect`, { code: 'E_HOSTKEY_MISSING' });
    const ssh: CliConnection = { host: c.host, port: c.sshPort ?? 22, user: c.user, password: c.password, hostKeyFingerprint: c.hostKeyFingerprint };
    opts.log?.(`${target.address}: https://${conn.host}:${conn.port}/rest/${conn.apiVersion ?? 'v10.09'}, ssh ${ssh.host}:${ssh.port}`);
    const client = new AoscxClient(conn, { timeoutMs: settings.timeoutMs, label: target.address });
    await client.login();
    return new Sessions(client, conn, ssh, target.address, target.name, settings.timeoutMs);
  },
  readConfig: (s) => readConfig(s.client),
  transaction: (s, settings) => new AoscxTransaction(s, settings),
  close: (s) => s.close(),
});
