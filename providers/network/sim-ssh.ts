/**
 * The SSH side of the switch simulators: an ssh2 server with password login
 * and an interactive shell whose lines go to a CLI interpreter (IOS, or the
 * AOS-CX CLI for `checkpoint auto`). Host key derived from the target address
 * (`ed25519FromSeed(address)`), so manifests can pin its fingerprint.
 * While the management path is cut, input is lost and new connections are
 * reset; a `drop` result resets the TCP connection (fault injection).
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { ed25519FromSeed, openSshPrivateKey, sshFingerprint } from '../lab/identity.js';
import { admitSocket, listen, sleep, type SwitchSim } from './simcore.js';

export interface CliResult {
  output: string;
  /** Close the session after the output (exit / logout). */
  close?: boolean;
  /** Fault injection: drop the TCP connection now, without output. */
  drop?: boolean;
}

/** One shell's command interpreter. */
export interface SimCli {
  prompt(): string;
  handle(line: string): CliResult;
}

export interface SshShellServer {
  port: number;
  stop(): Promise<void>;
}

/** The fingerprint a lab switch's SSH host key has (`hostKeyFingerprint` of its manifest). */
export function labHostKeyFingerprint(targetAddress: string): string {
  return sshFingerprint(ed25519FromSeed(targetAddress));
}

export async function startSshShell(
  sim: SwitchSim,
  o: { address: string; host: string; port: number; user: string; password: string; newCli: () => SimCli },
): Promise<SshShellServer> {
  const hostKey = openSshPrivateKey(ed25519FromSeed(o.address));
  const sockets = new Set<Socket>();
  const ssh = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    // ssh2 keeps the TCP socket on the client; the drop fault needs it.
    const sock: Socket | undefined = (client as unknown as { _sock?: Socket })._sock;
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === o.user && ctx.password === o.password) ctx.accept();
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
          const cli = o.newCli();
          let buf = '';
          let chain = Promise.resolve();
          const send = (s: string) => {
            if (stream.writable) stream.write(s.replace(/\r?\n/g, '\r\n'));
          };
          send(`\n${cli.prompt()}`);
          const handleLine = async (input: string) => {
            if (!sim.reachable()) return; // the management path is cut: input is lost
            if (sim.faults.latencyMs) await sleep(sim.faults.latencyMs);
            let line = input;
            if (sim.faults.lostInput !== undefined && line.startsWith(sim.faults.lostInput)) {
              line = line.slice(0, -1); // fault: a character lost; echo and command both lack it
              delete sim.faults.lostInput;
            }
            const res = cli.handle(line);
            if (res.drop) {
              sock?.destroy();
              return;
            }
            if (!sim.reachable()) return; // this very command cut the path: the answer never arrives
            if (res.close) {
              send(`${line}\n${res.output}`);
              stream.end();
              client.end();
              return;
            }
            send(`${line}\n${res.output}${cli.prompt()}`); // one write, as a switch sends it
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
  const port = await listen(net, o.host, o.port);
  return {
    port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => net.close(() => r()));
    },
  };
}
