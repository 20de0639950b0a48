/**
 * AOS-CX switch simulator: an HTTPS server with the REST v10.x resources the
 * driver uses, over a SwitchSim. Certificate derived from the target address
 * (`labCertificate(address, name)`), so manifests can pin its fingerprint.
 *
 *   POST /rest/v10.xx/login  (form: username, password) -> Set-Cookie: id=...
 *   POST /rest/v10.xx/logout
 *   GET  /rest/v10.xx/system
 *   GET|POST /rest/v10.xx/system/vlans[?depth=N]     GET|PUT|PATCH|DELETE /system/vlans/{id}
 *   GET  /rest/v10.xx/system/interfaces[?depth=N]    GET|PUT|PATCH /system/interfaces/{url-encoded name}
 *   GET  /rest/v10.xx/fullconfigs                   GET /fullconfigs/{name}
 *   PUT  /rest/v10.xx/fullconfigs/{dest}?from=/rest/v10.xx/fullconfigs/{src}
 *        (checkpoint create, restore to running-config, save to startup-config)
 *   DELETE /rest/v10.xx/fullconfigs/{checkpoint}
 *   GET|POST /rest/v10.xx/configs/checkpoint_auto {"minutes": N}
 *   POST /rest/v10.xx/configs/checkpoint_auto/confirm | /revert
 *        (REST rendering of the CLI `checkpoint auto <minutes>` / `checkpoint auto confirm`)
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TargetSpec } from '../../../../engine/types.js';
import { labCertificate } from '../../../lab/identity.js';
import { cloneConfig, defaultPort, type PortConfig, type SwitchConfig } from '../../model.js';
import { SwitchSim, admitSocket, listen, sleep, type RunningSwitchSimulator, type SwitchSimFaults } from '../../simcore.js';
import { aoscxNormalPort, portFromRest, restBodyFromPort, vlanRefIds } from '../parsers.js';

export interface AoscxSimulatorOptions extends SwitchSimFaults {
  /** Port ids; default 1/1/1-1/1/52. */
  ports?: string[];
  listenPort?: number;
}

export function aoscxDefaultPorts(n = 52): string[] {
  return Array.from({ length: n }, (_, i) => `1/1/${i + 1}`);
}

export function aoscxCertFingerprint(target: { address: string; name: string }): string {
  return labCertificate(target.address, target.name).fingerprint256;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function vlanJson(base: string, id: string, name: string) {
  return { id: Number(id), name, type: id === '1' ? 'default' : 'static', admin: 'up', oper_state: 'up', oper_state_reason: 'ok' };
}

function interfaceJson(base: string, name: string, p: PortConfig) {
  const body = restBodyFromPort(p, base);
  const refMap = (ids: number[]) => Object.fromEntries(ids.map((id) => [String(id), `${base}/system/vlans/${id}`]));
  return {
    name,
    type: 'system',
    description: body.description,
    routing: false,
    user_config: body.user_config,
    admin_state: p.enabled ? 'up' : 'down',
    vlan_mode: body.vlan_mode,
    vlan_tag: refMap(vlanRefIds(body.vlan_tag)),
    vlan_trunks: refMap(vlanRefIds(body.vlan_trunks)),
  };
}

function fullConfigJson(base: string, c: SwitchConfig) {
  return {
    System: {
      hostname: c.hostname,
      vlans: Object.fromEntries(Object.entries(c.vlans).map(([id, v]) => [id, vlanJson(base, id, v.name)])),
      interfaces: Object.fromEntries(Object.entries(c.ports).map(([n, p]) => [n, interfaceJson(base, n, p)])),
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
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'malformed JSON');
  }
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
  sim.startup = cloneConfig(sim.running);
  const cert = labCertificate(target.address, target.name);
  const sessions = new Set<string>();
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<{ status: number; json?: unknown; headers?: Record<string, string>; write?: boolean }> {
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
      const token = randomBytes(16).toString('base64url');
      sessions.add(token);
      sim.stats.sessions++;
      return { status: 200, headers: { 'set-cookie': `id=${token}; Path=/; HttpOnly; Secure` } };
    }
    const cookie = /(?:^|;\s*)id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!cookie || !sessions.has(cookie)) throw new HttpError(401, 'Login required');
    if (path === '/logout' && method === 'POST') {
      sessions.delete(cookie);
      return { status: 200 };
    }
    sim.stats.commands++;
    const depth = Number(url.searchParams.get('depth') ?? '1');
    const c = sim.running;

    if (path === '/system' && method === 'GET') {
      return { status: 200, json: { hostname: c.hostname, platform_name: '6300', software_version: 'FL.10.09.1030', mgmt_intf: { mode: 'dhcp' } } };
    }
    // ------------------------------------------------------------ VLANs
    if (path === '/system/vlans') {
      if (method === 'GET') {
        const ids = Object.keys(c.vlans).sort((a, b) => Number(a) - Number(b));
        return {
          status: 200,
          json: Object.fromEntries(ids.map((id) => [id, depth >= 2 ? vlanJson(base, id, c.vlans[id].name) : `${base}/system/vlans/${id}`])),
        };
      }
      if (method === 'POST') {
        const b = jsonBody(text);
        const id = Number(b.id);
        if (!Number.isInteger(id) || id < 1 || id > 4094) throw new HttpError(400, 'id: must be 1-4094');
        if (c.vlans[String(id)]) throw new HttpError(400, `VLAN ${id} already exists`);
        const name = b.name ?? `VLAN${id}`;
        if (typeof name !== 'string' || name.length > 32) throw new HttpError(400, 'name: at most 32 characters');
        sim.setVlan(id, name);
        return { status: 201, write: true };
      }
    }
    let mm = /^\/system\/vlans\/(\d+)$/.exec(path);
    if (mm) {
      const id = mm[1];
      const v = c.vlans[id];
      if (!v) throw new HttpError(404, `VLAN ${id} not found`);
      if (method === 'GET') return { status: 200, json: vlanJson(base, id, v.name) };
      if (method === 'PUT' || method === 'PATCH') {
        const b = jsonBody(text);
        const name = b.name ?? (method === 'PUT' ? `VLAN${id}` : v.name);
        if (typeof name !== 'string' || name.length > 32) throw new HttpError(400, 'name: at most 32 characters');
        sim.setVlan(Number(id), name);
        return { status: 204, write: true };
      }
      if (method === 'DELETE') {
        const err = sim.deleteVlan(Number(id));
        if (err) throw new HttpError(400, err);
        return { status: 204, write: true };
      }
    }
    // ------------------------------------------------------- interfaces
    if (path === '/system/interfaces' && method === 'GET') {
      const names = Object.keys(c.ports);
      return {
        status: 200,
        json: Object.fromEntries(
          names.map((n) =>
            depth >= 2 ? [n, interfaceJson(base, n, c.ports[n])] : [encodeURIComponent(n), `${base}/system/interfaces/${encodeURIComponent(n)}`],
          ),
        ),
      };
    }
    mm = /^\/system\/interfaces\/([^/]+)$/.exec(path);
    if (mm) {
      const name = decodeURIComponent(mm[1]);
      const p = c.ports[name];
      if (!p) throw new HttpError(404, `interface ${name} not found`);
      if (method === 'GET') return { status: 200, json: interfaceJson(base, name, p) };
      if (method === 'PUT' || method === 'PATCH') {
        const b = jsonBody(text);
        const merged = method === 'PATCH' ? { ...restBodyFromPort(p, base), ...b } : b;
        for (const id of [...vlanRefIds(merged.vlan_tag), ...vlanRefIds(merged.vlan_trunks)]) {
          if (!c.vlans[String(id)]) throw new HttpError(400, `VLAN ${id} does not exist`);
        }
        if (merged.description != null && (typeof merged.description !== 'string' || merged.description.length > 64)) {
          throw new HttpError(400, 'description: at most 64 characters');
        }
        sim.setPort(name, portFromRest(merged));
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
    // ------------------------------------------------- auto checkpoint
    if (path === '/configs/checkpoint_auto') {
      if (method === 'GET') return { status: 200, json: { pending: sim.revertPending, remaining_seconds: sim.revertRemainingSeconds() } };
      if (method === 'POST') {
        const b = jsonBody(text);
        const err = sim.beginRevert(Number(b.minutes));
        if (err) throw new HttpError(sim.revertPending ? 409 : 400, err);
        return { status: 200, json: { message: `Auto checkpoint mode expires in ${b.minutes} minute(s)` } };
      }
    }
    if (path === '/configs/checkpoint_auto/confirm' && method === 'POST') {
      const err = sim.confirm();
      if (err) throw new HttpError(sim.faults.failCommit ? 500 : 409, err);
      return { status: 200, json: { message: `checkpoint AUTO${Date.now()} created` } };
    }
    if (path === '/configs/checkpoint_auto/revert' && method === 'POST') {
      const err = sim.revertNow();
      if (err) throw new HttpError(409, err);
      return { status: 200, json: { message: 'Restoration successful' } };
    }
    throw new HttpError(method === 'GET' ? 404 : 405, `${method} ${path} is not supported`);
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
        out = await route(req, res);
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
  return {
    description: `https://${host}:${port} (lab aoscx switch for ${target.address})`,
    port,
    model: sim,
    async stop() {
      sim.close();
      for (const r of held) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
