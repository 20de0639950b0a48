/**
 * IOS switch simulator: an SSH server (ssh2) with an interactive IOS-like
 * shell over a SwitchSim. Host key derived from the target address
 * (`ed25519FromSeed(address)`), so manifests can pin its fingerprint.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { TargetSpec } from '../../../../engine/types.js';
import { ed25519FromSeed, openSshPrivateKey, sshFingerprint } from '../../../lab/identity.js';
import { defaultPort } from '../../model.js';
import { SwitchSim, admitSocket, listen, sleep, type RunningSwitchSimulator, type SwitchSimFaults } from '../../simcore.js';
import { IosCli } from './cli.js';

export interface IosSimulatorOptions extends SwitchSimFaults {
  /** Port ids; default Gi1/0/1-48 and Te1/1/1-4. */
  ports?: string[];
  /** Listen port override (0 = any free port); default target.connection.port. */
  listenPort?: number;
}

export function iosDefaultPorts(n = 48): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(`Gi1/0/${i}`);
  for (let i = 1; i <= 4; i++) out.push(`Te1/1/${i}`);
  return out;
}

export function iosHostKeyFingerprint(targetAddress: string): string {
  return sshFingerprint(ed25519FromSeed(targetAddress));
}

export async function startIosSimulator(target: TargetSpec, opts: IosSimulatorOptions = {}): Promise<RunningSwitchSimulator> {
  const conn = target.connection ?? {};
  const mgmt = target.spec?.managementVlan;
  const sim = new SwitchSim({
    hostname: target.name,
    managementVlan: typeof mgmt === 'number' ? mgmt : undefined,
    ports: opts.ports ?? iosDefaultPorts(),
    portDefault: () => defaultPort('dynamic auto'),
    faults: opts,
  });
  const hostKey = openSshPrivateKey(ed25519FromSeed(target.address));
  const sockets = new Set<Socket>();

  const ssh = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    // ssh2 keeps the TCP socket on the client; the drop fault needs it.
    const sock: Socket | undefined = (client as unknown as { _sock?: Socket })._sock;
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === conn.user && ctx.password === conn.password) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      sim.stats.sessions++;
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (ok) => ok?.());
        session.on('window-change', (ok) => ok?.());
        session.on('env', (ok) => ok?.());
        session.on('exec', (_ok, reject) => reject?.());
        session.on('shell', (ok) => {
          const stream = ok();
          const cli = new IosCli(sim);
          let buf = '';
          let chain = Promise.resolve();
          const send = (s: string) => {
            if (stream.writable) stream.write(s.replace(/\r?\n/g, '\r\n'));
          };
          send(`\n${cli.prompt()}`);
          const handleLine = async (line: string) => {
            if (!sim.reachable()) return; // the management path is cut: input is lost
            if (sim.faults.latencyMs) await sleep(sim.faults.latencyMs);
            const res = cli.handle(line);
            if (res.drop) {
              sock?.destroy();
              return;
            }
            if (!sim.reachable()) return; // this very command cut the path: the answer never arrives
            send(`${line}\n${res.output}`);
            if (res.close) {
              stream.end();
              client.end();
              return;
            }
            send(cli.prompt());
          };
          stream.on('data', (d: Buffer) => {
            buf += d.toString('utf8');
            let m: RegExpExecArray | null;
            while ((m = /\r\n|\r|\n/.exec(buf))) {
              const line = buf.slice(0, m.index);
              buf = buf.slice(m.index + m[0].length);
              chain = chain.then(() => handleLine(line)).catch(() => undefined);
            }
          });
          stream.on('error', () => undefined);
        });
      });
    });
  });
  ssh.on('error', () => undefined);

  const net: NetServer = createServer((sock) => {
    if (admitSocket(sim, sockets, sock)) ssh.injectSocket(sock);
  });
  const host = conn.host ?? '127.0.0.1';
  const port = await listen(net, host, opts.listenPort ?? conn.port ?? 0);
  return {
    description: `ssh://${host}:${port} (lab ios switch for ${target.address})`,
    port,
    model: sim,
    async stop() {
      sim.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => net.close(() => r()));
    },
  };
}
