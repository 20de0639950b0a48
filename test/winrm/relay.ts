/**
 * Man-in-the-middle helpers for the transport security tests, on 127.0.0.1:
 * a TCP relay that records (and may alter) what passes, and a TLS-terminating
 * proxy that presents its own certificate to the client, as a load balancer
 * or TLS inspection box in front of a Windows host would.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface Relay {
  port: number;
  /** Everything the client sent, and everything the server answered. */
  readonly toServer: Buffer[];
  readonly toClient: Buffer[];
  close(): Promise<void>;
}

function pair(a: net.Socket, b: net.Socket): void {
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
}

/** Forwards to 127.0.0.1:targetPort; `mutateToClient` may change each chunk of the answers. */
export async function tcpRelay(targetPort: number, o: { mutateToClient?: (chunk: Buffer) => Buffer } = {}): Promise<Relay> {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    pair(client, upstream);
    client.on('data', (d: Buffer) => {
      toServer.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      toClient.push(d);
      client.write(o.mutateToClient ? o.mutateToClient(d) : d);
    });
  });
  const port = await listen(server);
  return { port, toServer, toClient, close: closer(server, sockets) };
}

/** Terminates TLS with `cert` and opens its own TLS connection to 127.0.0.1:targetPort (not checking that certificate). */
export async function tlsTerminatingProxy(targetPort: number, cert: { certPem: string; keyPem: string }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (client) => {
    const upstream = tls.connect({ host: '127.0.0.1', port: targetPort, rejectUnauthorized: false });
    sockets.add(client).add(upstream);
    pair(client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listen(server);
  return { port, close: closer(server, sockets) };
}
