/**
 * AOS-CX switch simulator: an HTTPS server with the REST v10.x resources the
 * driver uses and an SSH server with the CLI's `checkpoint auto` (cli.ts),
 * both over one SwitchSim. Certificate derived from the target address
 * (`labCertificate(address, name)`), SSH host key likewise, so manifests can
 * pin both.
 *
 *   POST /rest/v10.xx/login  (form: username, password) -> Set-Cookie: id=...
 *   POST /rest/v10.xx/logout
 *   GET  /rest/v10.xx/system
 *   GET|POST /system/vlans[?depth=N&selector=writable]   GET|PUT|PATCH|DELETE /system/vlans/{id}
 *   GET  /system/interfaces[?depth=N&selector=writable]  GET|PUT|PATCH /system/interfaces/{url-encoded name}
 *   GET  /fullconfigs                                    GET /fullconfigs/{name}
 *   PUT  /fullconfigs/{dest}?from=/rest/v10.xx/fullconfigs/{src}
 *        (checkpoint create, restore to running-config, save to startup-config)
 *   DELETE /fullconfigs/{checkpoint}
 * There is no REST auto checkpoint: `/configs/checkpoint_auto` answers 404,
 * as on real switches; the auto checkpoint is the CLI's, over SSH.
 *
 * Behaviour of the real API that the simulator keeps (sources in the driver's
 * header): PUT is a strict replace of an object's writable attributes (what
 * the body leaves out is reset, attributes that are not writable are
 * refused); `selector=writable` returns exactly the writable attributes; at
 * most `sessionLimit` sessions per user (default 6) - a client that does not
 * log out runs into it; with `readOnlyApi` (HTTPS on a VRF other than mgmt)
 * writes to /system answer 404.
 *
 * Lab options beyond the shared faults: `portAttributes` (writable interface
 * attributes einklang does not manage, per port), `vlanAttributes` (the same
 * for VLANs), `sessionLimit`, `readOnlyApi`, `sshListenPort`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TargetSpec } from '../../../../engine/types.js';
import { labCertificate } from '../../../lab/identity.js';
import { cloneConfig, defaultPort, type SwitchConfig } from '../../model.js';
import { labHostKeyFingerprint, startSshShell } from '../../sim-ssh.js';
import { SwitchSim, admitSocket, listen, sleep, type RunningSwitchSimulator, type SwitchSimFaults } from '../../simcore.js';
import { aoscxNormalPort, portFromRest, restBodyFromPort, vlanRefIds } from '../parsers.js';
import { AoscxCli } from './cli.js';

export interface AoscxSimulatorOptions extends SwitchSimFaults {
  /** Port ids; default 1/1/1-1/1/52. */
  ports?: string[];
  listenPort?: number;
  /** SSH (CLI) listen port; default target.connection.sshPort, else any free port. */
  sshListenPort?: number;
  /** Writable interface attributes einklang does not manage, per port (e.g. an ACL, LLDP settings). */
  portAttributes?: Record<string, Record<string, unknown>>;
  /** Writable VLAN attributes einklang does not manage, per VLAN id. */
  vlanAttributes?: Record<string, Record<string, unknown>>;
  /** HTTPS sessions per user (AOS-CX: 6). */
  sessionLimit?: number;
  /** Sessions of the same user that other clients (the web UI, scripts) hold already. */
  sessionsInUse?: number;
  /** The REST API is read-only (HTTPS server on a VRF other than mgmt): writes to /system answer 404. */
  readOnlyApi?: boolean;
}

export function aoscxDefaultPorts(n = 52): string[] {
  return Array.from({ length: n }, (_, i) => `1/1/${i + 1}`);
}

export function aoscxCertFingerprint(target: { address: string; name: string }): string {
  return labCertificate(target.address, target.name).fingerprint256;
}

/** The pinned SSH host key of a lab aoscx switch (its CLI, for `checkpoint auto`). */
export const aoscxHostKeyFingerprint = labHostKeyFingerprint;

/** Writable interface attributes the simulator knows besides the managed ones (AOS-CX 10.x Port/Interface). */
const PORT_WRITABLE_OTHER = new Set(['aclv4_in_cfg', 'aclv4_in_cfg_version', 'aclmac_in_cfg', 'aclmac_in_cfg_version', 'other_config', 'lacp', 'options', 'qos', 'udld_enable', 'loop_protect_enable', 'vrf', 'mtu']);
const PORT_MANAGED = ['description', 'routing', 'user_config', 'vlan_mode', 'vlan_tag', 'vlan_trunks'];
const VLAN_WRITABLE_OTHER = new Set(['description', 'admin', 'voice', 'vsx_sync', 'mgmd_enable', 'aclmac_in_cfg', 'aclmac_in_cfg_version']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function vlanStatus(id: string, name: string) {
  return { id: Number(id), name, type: id === '1' ? 'default' : 'static', oper_state: 'up', oper_state_reason: 'ok' };
}

function vlanWritable(c: SwitchConfig, id: string) {
  return { name: c.vlans[id].name, ...(c.deviceAttributes?.vlans?.[id] ?? {}) };
}

function interfaceWritable(base: string, c: SwitchConfig, name: string) {
  const p = c.ports[name];
  const body = restBodyFromPort(p, base);
  const refMap = (ids: number[]) => Object.fromEntries(ids.map((id) => [String(id), `${base}/system/vlans/${id}`]));
  return {
    ...body,
    vlan_tag: refMap(vlanRefIds(body.vlan_tag)),
    vlan_trunks: refMap(vlanRefIds(body.vlan_trunks)),
    ...(c.deviceAttributes?.ports?.[name] ?? {}),
  };
}

function interfaceJson(base: string, c: SwitchConfig, name: string) {
  return { name, type: 'system', admin_state: c.ports[name].enabled ? 'up' : 'down', link_state: 'down', ...interfaceWritable(base, c, name) };
}

function fullConfigJson(base: string, c: SwitchConfig) {
  return {
    System: {
      hostname: c.hostname,
      vlans: Object.fromEntries(Object.keys(c.vlans).map((id) => [id, { ...vlanStatus(id, c.vlans[id].name), ...vlanWritable(c, id) }])),
      interfaces: Object.fromEntries(Object.keys(c.ports).map((n) => [n, interfaceJson(base, c, n)])),
    },
  };
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function jsonBody(text: string): any {
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch {
    throw new HttpError(400, 'malformed JSON');
  }
}

/** A PUT body's attributes: the managed ones and the others, refusing what is not writable (strict replace). */
function splitWritable(b: Record<string, unknown>, managed: string[], other: Set<string>, what: string): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (managed.includes(k)) continue;
    if (!other.has(k)) throw new HttpError(400, `${what}: attribute ${k} is not writable`);
    extra[k] = v;
  }
  return extra;
}

/** PATCH merges: it can add or change attributes and map entries, never remove them. */
function patched(current: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && cur && typeof v === 'object' && typeof cur === 'object' && !Array.isArray(v) && !Array.isArray(cur) ? { ...cur, ...v } : v;
  }
  return out;
}

export async function startAoscxSimulator(target: TargetSpec, opts: AoscxSimulatorOptions = {}): Promise<RunningSwitchSimulator> {
  const conn = target.connection ?? {};
  const mgmt = target.spec?.managementVlan;
  const sim = new SwitchSim({
    hostname: target.name,
    managementVlan: typeof mgmt === 'number' ? mgmt : undefined,
    ports: opts.ports ?? aoscxDefaultPorts(),
    portDefault: () => defaultPort('access'),
    normalizePort: aoscxNormalPort,
    faults: opts,
  });
  sim.running.vlans['1'] = { name: 'DEFAULT_VLAN_1' };
  if (opts.portAttributes || opts.vlanAttributes) sim.running.deviceAttributes = structuredClone({ ports: opts.portAttributes ?? {}, vlans: opts.vlanAttributes ?? {} });
  sim.startup = cloneConfig(sim.running);
  const cert = labCertificate(target.address, target.name);
  const sessionLimit = opts.sessionLimit ?? 6;
  const sessions = new Map<string, string>(); // cookie -> user
  for (let i = 0; i < (opts.sessionsInUse ?? 0); i++) sessions.set(`other-client-${i}`, String(conn.user));
  const countSessions = () => {
    sim.openSessions = sessions.size;
  };
  countSessions();
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  function setPortFromBody(name: string, b: Record<string, unknown>): void {
    const c = sim.running;
    for (const id of [...vlanRefIds(b.vlan_tag), ...vlanRefIds(b.vlan_trunks)]) {
      if (!c.vlans[String(id)]) throw new HttpError(400, `VLAN ${id} does not exist`);
    }
    if (b.description != null && (typeof b.description !== 'string' || b.description.length > 64)) throw new HttpError(400, 'description: at most 64 characters');
    const extra = splitWritable(b, PORT_MANAGED, PORT_WRITABLE_OTHER, `interface ${name}`);
    sim.setPort(name, portFromRest(b as Record<string, any>));
    const d = (sim.running.deviceAttributes ??= {});
    (d.ports ??= {})[name] = extra;
  }

  function setVlanFromBody(id: number, b: Record<string, unknown>): void {
    const name = b.name ?? `VLAN${id}`;
    if (typeof name !== 'string' || name.length > 32) throw new HttpError(400, 'name: at most 32 characters');
    const extra = splitWritable(b, ['name', 'id'], VLAN_WRITABLE_OTHER, `VLAN ${id}`);
    sim.setVlan(id, name);
    const d = (sim.running.deviceAttributes ??= {});
    (d.vlans ??= {})[String(id)] = extra;
  }

  async function route(req: IncomingMessage): Promise<{ status: number; json?: unknown; headers?: Record<string, string>; write?: boolean }> {
    const url = new URL(req.url ?? '/', 'https://switch');
    const m = /^(\/rest\/v10\.\d+)(\/.*)?$/.exec(url.pathname);
    if (!m) throw new HttpError(404, 'not found');
    const base = m[1];
    const path = (m[2] ?? '/').replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const text = await body(req);

    if (path === '/login' && method === 'POST') {
      const form = new URLSearchParams(text);
      const user = form.get('username') ?? url.searchParams.get('username');
      const pass = form.get('password') ?? url.searchParams.get('password');
      if (user !== conn.user || pass !== conn.password) throw new HttpError(401, 'Login failed: incorrect username or password');
      if ([...sessions.values()].filter((u) => u === user).length >= sessionLimit) throw new HttpError(401, 'Login failed: session limit reached');
      const token = randomBytes(16).toString('base64url');
      sessions.set(token, String(user));
      countSessions();
      sim.stats.sessions++;
      return { status: 200, headers: { 'set-cookie': `id=${token}; Path=/; HttpOnly; Secure` } };
    }
    const cookie = /(?:^|;\s*)id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!cookie || !sessions.has(cookie)) throw new HttpError(401, 'Login required');
    if (path === '/logout' && method === 'POST') {
      sessions.delete(cookie);
      countSessions();
      return { status: 200 };
    }
    sim.stats.commands++;
    const writing = method !== 'GET';
    if (writing && opts.readOnlyApi && path.startsWith('/system')) throw new HttpError(404, 'Not Found');
    const depth = Number(url.searchParams.get('depth') ?? '1');
    const writable = url.searchParams.get('selector') === 'writable';
    const c = sim.running;

    if (path === '/system' && method === 'GET') {
      return { status: 200, json: { hostname: c.hostname, platform_name: '6300', software_version: 'FL.10.09.1030', mgmt_intf: { mode: 'dhcp' } } };
    }
    // ------------------------------------------------------------ VLANs
    if (path === '/system/vlans') {
      if (method === 'GET') {
        const ids = Object.keys(c.vlans).sort((a, b) => Number(a) - Number(b));
        const one = (id: string) => (writable ? vlanWritable(c, id) : { ...vlanStatus(id, c.vlans[id].name), ...vlanWritable(c, id) });
        return { status: 200, json: Object.fromEntries(ids.map((id) => [id, depth >= 2 ? one(id) : `${base}/system/vlans/${id}`])) };
      }
      if (method === 'POST') {
        const b = jsonBody(text);
        const id = Number(b.id);
        if (!Number.isInteger(id) || id < 1 || id > 4094) throw new HttpError(400, 'id: must be 1-4094');
        if (c.vlans[String(id)]) throw new HttpError(400, `VLAN ${id} already exists`);
        setVlanFromBody(id, b);
        return { status: 201, write: true };
      }
    }
    let mm = /^\/system\/vlans\/(\d+)$/.exec(path);
    if (mm) {
      const id = mm[1];
      if (!c.vlans[id]) throw new HttpError(404, `VLAN ${id} not found`);
      if (method === 'GET') return { status: 200, json: writable ? vlanWritable(c, id) : { ...vlanStatus(id, c.vlans[id].name), ...vlanWritable(c, id) } };
      if (method === 'PUT' || method === 'PATCH') {
        const b = jsonBody(text);
        setVlanFromBody(Number(id), method === 'PATCH' ? patched(vlanWritable(c, id), b) : b);
        return { status: 204, write: true };
      }
      if (method === 'DELETE') {
        const err = sim.deleteVlan(Number(id));
        if (err) throw new HttpError(400, err);
        delete c.deviceAttributes?.vlans?.[id];
        return { status: 204, write: true };
      }
    }
    // ------------------------------------------------------- interfaces
    if (path === '/system/interfaces' && method === 'GET') {
      const one = (n: string) => (writable ? interfaceWritable(base, c, n) : interfaceJson(base, c, n));
      return {
        status: 200,
        json: Object.fromEntries(
          Object.keys(c.ports).map((n) => (depth >= 2 ? [n, one(n)] : [encodeURIComponent(n), `${base}/system/interfaces/${encodeURIComponent(n)}`])),
        ),
      };
    }
    mm = /^\/system\/interfaces\/([^/]+)$/.exec(path);
    if (mm) {
      const name = decodeURIComponent(mm[1]);
      if (!c.ports[name]) throw new HttpError(404, `interface ${name} not found`);
      if (method === 'GET') return { status: 200, json: writable ? interfaceWritable(base, c, name) : interfaceJson(base, c, name) };
      if (method === 'PUT' || method === 'PATCH') {
        const b = jsonBody(text);
        setPortFromBody(name, method === 'PATCH' ? patched(interfaceWritable(base, c, name), b) : b);
        return { status: 204, write: true };
      }
    }
    // ------------------------------------------------------- fullconfigs
    if (path === '/fullconfigs' && method === 'GET') {
      const names = ['running-config', 'startup-config', ...sim.checkpoints.keys()];
      return { status: 200, json: Object.fromEntries(names.map((n) => [n, `${base}/fullconfigs/${n}`])) };
    }
    mm = /^\/fullconfigs\/([A-Za-z0-9_.-]+)$/.exec(path);
    if (mm) {
      const name = mm[1];
      const get = (n: string) => (n === 'running-config' ? sim.running : n === 'startup-config' ? sim.startup : sim.checkpoints.get(n));
      if (method === 'GET') {
        const cfg = get(name);
        if (!cfg) throw new HttpError(404, `${name} not found`);
        return { status: 200, json: fullConfigJson(base, cfg) };
      }
      if (method === 'PUT') {
        const from = /\/fullconfigs\/([A-Za-z0-9_.-]+)$/.exec(url.searchParams.get('from') ?? '')?.[1];
        const src = from ? get(from) : undefined;
        if (!src) throw new HttpError(400, 'from: unknown source configuration');
        if (name === 'running-config') sim.replaceRunning(src);
        else if (name === 'startup-config') sim.save();
        else sim.checkpoints.set(name, cloneConfig(src));
        return { status: 200, write: name === 'running-config' };
      }
      if (method === 'DELETE') {
        if (!sim.checkpoints.delete(name)) throw new HttpError(404, `${name} not found`);
        return { status: 204 };
      }
    }
    throw new HttpError(404, `${method} ${path}: no such resource`);
  }

  const server = createServer({ cert: cert.certPem, key: cert.keyPem, keepAliveTimeout: 30_000 }, (req, res) => {
    void (async () => {
      if (!sim.reachable()) {
        held.add(res); // the management path is cut: the request is never answered
        return;
      }
      if (sim.faults.latencyMs) await sleep(sim.faults.latencyMs);
      let out: { status: number; json?: unknown; headers?: Record<string, string>; write?: boolean };
      try {
        out = await route(req);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        out = { status, json: { message: (err as Error).message } };
      }
      if (out.write && sim.noteWrite()) {
        req.socket.destroy(); // fault: the connection drops mid-apply
        return;
      }
      if (!sim.reachable()) {
        held.add(res); // this request cut the path: its answer never arrives
        return;
      }
      const payload = out.json === undefined ? '' : JSON.stringify(out.json);
      res.writeHead(out.status, { ...(payload ? { 'content-type': 'application/json' } : {}), ...(out.headers ?? {}) });
      res.end(payload);
    })();
  });
  server.on('connection', (sock: Socket) => admitSocket(sim, sockets, sock));
  server.on('tlsClientError', () => undefined);
  sim.on('reachability', (up: boolean) => {
    if (!up) return;
    for (const r of held) r.destroy();
    held.clear();
  });
  const host = conn.host ?? '127.0.0.1';
  const port = await listen(server, host, opts.listenPort ?? conn.port ?? 0);
  const shell = await startSshShell(sim, {
    address: target.address,
    host,
    port: opts.sshListenPort ?? conn.sshPort ?? 0,
    user: conn.user,
    password: conn.password,
    newCli: () => new AoscxCli(sim),
  }).catch(async (e) => {
    await new Promise<void>((r) => server.close(() => r()));
    throw e;
  });
  return {
    description: `https://${host}:${port} + ssh://${host}:${shell.port} (lab aoscx switch for ${target.address})`,
    port,
    sshPort: shell.port,
    fingerprint: cert.fingerprint256,
    sshFingerprint: aoscxHostKeyFingerprint(target.address),
    model: sim,
    async stop() {
      sim.close();
      for (const r of held) r.destroy();
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => server.close(() => r())), shell.stop()]);
    },
  };
}


