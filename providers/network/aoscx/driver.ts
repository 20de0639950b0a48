/**
 * Driver `aoscx`: HPE Aruba AOS-CX switches over the REST API v10.x.
 *
 * Read: GET /system/vlans?depth=2 and /system/interfaces?depth=2 on one
 * logged-in session.
 * Write: one transaction per switch —
 *   named checkpoint of the running-config (PUT /fullconfigs/<cp>?from=running-config)
 *   / auto checkpoint (rolls back by itself unless confirmed, like the CLI
 *     `checkpoint auto <minutes>`) / the VLAN and interface writes
 *   / check the management path (the open session and a fresh login)
 *   / confirm the auto checkpoint / save to startup-config.
 * On failure: revert the auto checkpoint (or restore the named checkpoint)
 * if the switch still answers, otherwise wait for the automatic rollback.
 */
import { DriverError } from '../../../engine/types.js';
import type { SwitchConnectionSettings } from '../connection.js';
import { cloneConfig, defaultPort, type SwitchConfig, type SwitchOp } from '../model.js';
import { switchDriver } from '../switch-driver.js';
import type { TransactionDevice } from '../transaction.js';
import { AoscxClient, type AoscxConnection } from './client.js';
import { aoscxNormalPort, restBodyFromPort, switchConfigFromRest } from './parsers.js';

async function readConfig(c: AoscxClient): Promise<SwitchConfig> {
  const [vlans, interfaces] = await Promise.all([c.ok('GET', '/system/vlans?depth=2'), c.ok('GET', '/system/interfaces?depth=2')]);
  return switchConfigFromRest({}, vlans, interfaces);
}

const enc = (port: string) => encodeURIComponent(port);

class ClientHolder {
  constructor(
    public client: AoscxClient,
    readonly conn: AoscxConnection,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {}

  async reconnect(timeoutMs = this.timeoutMs): Promise<void> {
    this.client.destroy();
    const c = new AoscxClient(this.conn, { timeoutMs, label: this.label });
    await c.login();
    this.client = c;
  }
}

class AoscxTransaction implements TransactionDevice {
  private current?: SwitchConfig;
  private readonly checkpoint = `einklang-${Date.now().toString(36)}`;

  constructor(
    private readonly h: ClientHolder,
    private readonly settings: SwitchConnectionSettings,
  ) {}

  private get c(): AoscxClient {
    return this.h.client;
  }

  async readConfig(): Promise<SwitchConfig> {
    const config = await readConfig(this.c);
    this.current = cloneConfig(config); // apply() keeps this copy up to date; the caller's stays as read
    return config;
  }

  async begin(): Promise<void> {
    await this.c.ok('PUT', `/fullconfigs/${this.checkpoint}?from=${this.c.base}/fullconfigs/running-config`);
    try {
      await this.c.ok('POST', '/configs/checkpoint_auto', { minutes: this.settings.revertMinutes });
    } catch (err) {
      await this.c.request('DELETE', `/fullconfigs/${this.checkpoint}`).catch(() => undefined);
      throw err;
    }
  }

  async apply(ops: SwitchOp[]): Promise<void> {
    const cur = this.current!;
    const t = { timeoutMs: this.settings.verifyTimeoutMs }; // each write is small: a long silence means the path is gone
    for (const o of ops) {
      if (o.op === 'vlan-set') {
        if (cur.vlans[String(o.id)]) await this.c.ok('PUT', `/system/vlans/${o.id}`, { name: o.name }, t);
        else await this.c.ok('POST', '/system/vlans', { id: o.id, name: o.name }, t);
        cur.vlans[String(o.id)] = { name: o.name };
      } else if (o.op === 'vlan-delete') {
        await this.c.ok('DELETE', `/system/vlans/${o.id}`, undefined, t);
        delete cur.vlans[String(o.id)];
      } else {
        const next = aoscxNormalPort(o.op === 'port-default' ? defaultPort('access') : { ...(cur.ports[o.port] ?? defaultPort('access')), ...o.set });
        await this.c.ok('PUT', `/system/interfaces/${enc(o.port)}`, restBodyFromPort(next, this.c.base), t);
        cur.ports[o.port] = next;
      }
    }
  }

  async verifyManagement(): Promise<void> {
    const t = this.settings.verifyTimeoutMs;
    await this.c.ok('GET', '/system', undefined, { timeoutMs: t });
    const fresh = new AoscxClient(this.h.conn, { timeoutMs: t, label: this.h.label });
    try {
      await fresh.login(t);
      await fresh.ok('GET', '/system');
    } finally {
      await fresh.close();
    }
  }

  async confirm(): Promise<void> {
    await this.c.ok('POST', '/configs/checkpoint_auto/confirm');
  }

  async save(): Promise<void> {
    await this.c.ok('PUT', `/fullconfigs/startup-config?from=${this.c.base}/fullconfigs/running-config`);
    await this.c.request('DELETE', `/fullconfigs/${this.checkpoint}`).catch(() => undefined);
  }

  async revertNow(): Promise<void> {
    const t = { timeoutMs: this.settings.verifyTimeoutMs };
    const r = await this.c.request('POST', '/configs/checkpoint_auto/revert', undefined, t);
    if (r.status >= 200 && r.status < 300) return;
    // no auto checkpoint pending (it may have fired already): restore the named one if it still exists
    const cp = await this.c.request('GET', `/fullconfigs/${this.checkpoint}`, undefined, t);
    if (cp.status === 200) await this.c.ok('PUT', `/fullconfigs/running-config?from=${this.c.base}/fullconfigs/${this.checkpoint}`, undefined, t);
  }

  async reconnect(): Promise<void> {
    await this.h.reconnect(this.settings.verifyTimeoutMs);
  }
}

export const aoscxDriver = switchDriver<ClientHolder>({
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
    opts.log?.(`${target.address}: https://${conn.host}:${conn.port}/rest/${conn.apiVersion ?? 'v10.09'}`);
    const client = new AoscxClient(conn, { timeoutMs: settings.timeoutMs, label: target.address });
    await client.login();
    return new ClientHolder(client, conn, target.address, settings.timeoutMs);
  },
  readConfig: (h) => readConfig(h.client),
  transaction: (h, settings) => new AoscxTransaction(h, settings),
  close: (h) => h.client.close(),
});
