/**
 * The winrm driver against simulated Windows hosts set up the way Windows
 * leaves WinRM (HTTP listener, AllowUnencrypted=false, Basic off,
 * CbtHardeningLevel Relaxed) and against hosts set to refuse more (Strict
 * channel binding): what crosses the wire, what each refusal is called, and
 * that a held Receive does not race the HTTP timeout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriverError, type TargetSpec } from '../../engine/types.js';
import { labCertificate } from '../../providers/lab/identity.js';
import { winrmDriver } from '../../providers/servers/winrm/index.js';
import { converge, expand, PASSWORD, resource, startLab, type Lab } from './helpers.js';
import { tcpRelay, tlsTerminatingProxy } from './relay.js';

const via = (lab: Lab, port: number, extra: Record<string, unknown> = {}): TargetSpec => ({ ...lab.target, connection: { ...lab.target.connection, port, ...extra } });
const isDriverError = (code: string, re?: RegExp) => (e: Error) => e instanceof DriverError && e.opts.code === code && (!re || re.test(e.message));

describe('winrm against a default Windows host (HTTP listener, AllowUnencrypted=false, Basic off)', function () {
  this.timeout(30_000);

  it('HTTP + NTLM without allowUnencrypted converges, and nothing readable crosses the wire', async () => {
    const lab = await startLab({ transport: 'http', auth: 'ntlm' });
    const relay = await tcpRelay(lab.sim.port);
    try {
      assert.equal(lab.target.connection.allowUnencrypted, undefined);
      const secret = 'Vertraulich: Haushaltsentwurf 2027, Kämmerei';
      lab.sim.model.directories.set('C:\\Daten', { path: 'C:\\Daten', owner: 'Administrators', group: 'None' });
      await converge(via(lab, relay.port), expand([resource('File', 'entwurf', { path: 'C:\\Daten\\entwurf.txt', content: secret }), resource('User', 'kaemmerei', { comment: 'Kämmerei' })]));
      assert.equal(lab.sim.model.files.get('C:\\Daten\\entwurf.txt')!.content.toString('utf8'), secret);
      assert.ok(lab.sim.model.users.get('kaemmerei'));
      const wire = Buffer.concat([...relay.toServer, ...relay.toClient]);
      for (const plain of [secret, 'Haushaltsentwurf', 'entwurf.txt', 'kaemmerei', 'Envelope', 'powershell', 'EINKLANG-RESULT', PASSWORD]) {
        assert.ok(!wire.includes(Buffer.from(plain, 'utf8')), `"${plain}" crossed the wire readable`);
      }
      assert.ok(wire.includes('Content-Type: multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'));
      const { messages } = lab.sim.simulator;
      assert.equal(messages.plain, 0);
      assert.equal(messages.refusedUnencrypted, 0);
      assert.ok(messages.sealed > 10, `${messages.sealed} sealed messages`);
    } finally {
      await relay.close();
      await lab.stop();
    }
  });

  it('an altered answer is detected, not used', async () => {
    const lab = await startLab({ transport: 'http', auth: 'ntlm' });
    const marker = Buffer.from('\tContent-Type: application/octet-stream\r\n');
    const relay = await tcpRelay(lab.sim.port, {
      mutateToClient: (chunk) => {
        const at = chunk.indexOf(marker);
        if (at < 0 || chunk.length < at + marker.length + 24) return chunk;
        const altered = Buffer.from(chunk);
        altered[at + marker.length + 4 + 16 + 2] ^= 0x20; // a byte of the sealed message, after length and signature
        return altered;
      },
    });
    try {
      await assert.rejects(winrmDriver.connectReader(via(lab, relay.port)), isDriverError('E_PROTOCOL', /cannot decrypt the host's answer: NTLM message signature does not verify/));
    } finally {
      await relay.close();
      await lab.stop();
    }
  });

  it('Basic over HTTP: a default host (Basic off) is told apart from a wrong password, and so is one that requires encryption', async () => {
    const off = await startLab({ transport: 'http', auth: 'basic', service: { basic: false, allowUnencrypted: false } });
    try {
      await assert.rejects(winrmDriver.connectReader(off.target), isDriverError('E_AUTH_METHOD', /does not accept Basic authentication \(it offers: Negotiate\)\. Windows turns Basic off by default/));
    } finally {
      await off.stop();
    }
    const strict = await startLab({ transport: 'http', auth: 'basic', service: { basic: true, allowUnencrypted: false } });
    try {
      await assert.rejects(
        winrmDriver.connectReader(strict.target),
        isDriverError('E_ENCRYPTION_REQUIRED', /accepted the credentials but refuses unencrypted messages \(WinRM Service\\AllowUnencrypted=false.*use auth: ntlm/),
      );
      assert.equal(strict.sim.simulator.messages.refusedUnencrypted, 1);
      const wrong = { ...strict.target, connection: { ...strict.target.connection, password: 'not-it' } };
      await assert.rejects(winrmDriver.connectReader(wrong), isDriverError('E_AUTH', /rejected the user name or password/));
      assert.deepEqual(strict.sim.model.log, [], 'nothing ran');
    } finally {
      await strict.stop();
    }
  });

  it('OperationTimeout stays below the HTTP timeout: a held Receive times out on the host and is asked again', async () => {
    const lab = await startLab({ transport: 'http', auth: 'ntlm', faults: { commandDurationMs: 1200 } });
    try {
      // HTTP timeout 800 ms -> OperationTimeout 600 ms: each Receive is held 600 ms and answered w:TimedOut, never cut off by the client
      const r = await winrmDriver.connectReader(lab.target, { timeoutMs: 800 });
      try {
        const res = await r.read([{ kind: 'Group', id: 'Administrators', state: {} }]);
        assert.ok(res.objects['Group\u0000Administrators']);
      } finally {
        await r.close();
      }
      assert.ok(lab.sim.simulator.timedOutReceives >= 1, `${lab.sim.simulator.timedOutReceives} Receives timed out on the host`);
    } finally {
      await lab.stop();
    }
  });
});

describe('winrm over HTTPS with channel binding (RFC 5929 tls-server-end-point)', function () {
  this.timeout(30_000);

  it('a host with CbtHardeningLevel=Strict accepts einklang: the binding matches its ECDSA certificate', async () => {
    const lab = await startLab({ service: { cbtHardeningLevel: 'Strict' } });
    try {
      await (await winrmDriver.connectReader(lab.target)).close();
      const a = lab.sim.simulator.authStats;
      assert.equal(a.channelBindingMatched, 1);
      assert.equal(a.refusedChannelBinding, 0);
    } finally {
      await lab.stop();
    }
  });

  it('behind a TLS-terminating proxy the binding cannot match: Strict and Relaxed hosts refuse, and the error names channel binding', async () => {
    const proxyCert = labCertificate('tls-proxy', 'proxy');
    for (const level of ['Strict', 'Relaxed', 'None'] as const) {
      const lab = await startLab({ service: { cbtHardeningLevel: level } });
      const proxy = await tlsTerminatingProxy(lab.sim.port, proxyCert);
      try {
        // the administrator pinned what einklang sees: the proxy's certificate
        const target = via(lab, proxy.port, { tlsFingerprint: proxyCert.fingerprint256 });
        if (level === 'None') {
          await (await winrmDriver.connectReader(target)).close();
        } else {
          await assert.rejects(
            winrmDriver.connectReader(target),
            isDriverError('E_AUTH', /If they are right, channel binding is the cause: .*CbtHardeningLevel=Strict refuses when that is not its listener's own certificate \(a TLS-terminating proxy/),
          );
          assert.equal(lab.sim.simulator.authStats.refusedChannelBinding, 1, level);
          assert.equal(lab.sim.simulator.authStats.refusedCredentials, 0, level);
        }
      } finally {
        await proxy.close();
        await lab.stop();
      }
    }
  });

  it('a certificate without a defined binding (Ed25519): einklang can send none, and a Strict host refusing that is named', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-ed25519-'));
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-subj', '/CN=proxy', '-days', '2', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { encoding: 'utf8' });
    if (gen.status !== 0) this.skip(); // no openssl CLI: nothing to make an Ed25519 certificate with
    const cert = { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
    const lab = await startLab({ service: { cbtHardeningLevel: 'Strict' } });
    const proxy = await tlsTerminatingProxy(lab.sim.port, cert);
    try {
      const target = via(lab, proxy.port, { tlsFingerprint: labCertificate('unused', 'x').fingerprint256 });
      const pin = await winrmDriver.connectReader(target).then(
        () => '',
        (e: Error) => /server presented ([0-9A-F:]+)/.exec(e.message)?.[1] ?? '',
      );
      assert.ok(pin, 'learned the proxy certificate from the pin mismatch');
      await assert.rejects(
        winrmDriver.connectReader({ ...target, connection: { ...target.connection, tlsFingerprint: pin } }),
        isDriverError('E_CHANNEL_BINDING', /RFC 5929 defines no tls-server-end-point binding for Ed25519, so einklang could send none, and a host with CbtHardeningLevel=Strict refuses that/),
      );
      assert.equal(lab.sim.simulator.authStats.refusedChannelBinding, 1);
    } finally {
      await proxy.close();
      await lab.stop();
    }
  });
});
