/**
 * pywinrm (Debian's python3-winrm: pywinrm 0.3.0, requests-ntlm 1.1.0,
 * ntlm-auth 1.4.0) as the independent client of the WinRM simulator:
 * - over HTTP with NTLM message encryption, and over HTTPS with NTLM and
 *   channel binding (validating the lab's ECDSA certificate), a shell opens,
 *   runs einklang's own read script and `hostname`, and closes; the script's
 *   result decodes to the same as through einklang's client;
 * - what a default Windows host refuses, the simulator refuses too, with the
 *   status pywinrm reports as "credentials rejected": unencrypted messages on
 *   HTTP, NTLM without channel binding on a Strict HTTPS listener.
 * Skipped (with the reason) only when /usr/bin/python3 has no winrm module.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labCertificate } from '../../providers/lab/identity.js';
import { HttpTransport, WinrmSession, winrmConnection } from '../../providers/servers/winrm/index.js';
import { POWERSHELL, POWERSHELL_ARGS, buildScript, parseResult, scriptStdin } from '../../providers/servers/winrm/scripts.js';
import { PASSWORD, startLab, TARGET_ADDRESS, type Lab } from './helpers.js';
import { pywinrmMissing, runPywinrm, type PywinrmJob, type PywinrmResult } from './pywinrm.js';

/** A read of objects with non-ASCII data, so that decoding differences would show. */
const READ = buildScript('read', {
  objects: [
    { kind: 'File', id: 'C:\\Daten\\Umlaute äöü.txt' },
    { kind: 'Group', id: 'Administrators' },
    { kind: 'User', id: 'Administrator' },
    { kind: 'Service', id: 'Spooler' },
  ],
});

function prepare(lab: Lab): void {
  const m = lab.sim.model;
  m.directories.set('C:\\Daten', { path: 'C:\\Daten', owner: 'Administrators', group: 'None' });
  m.files.set('C:\\Daten\\Umlaute äöü.txt', { path: 'C:\\Daten\\Umlaute äöü.txt', content: Buffer.from('Grüße aus dem Rathaus € 😀\r\n'), owner: 'Administrators', group: 'None' });
}

function job(lab: Lab, extra: Partial<PywinrmJob> = {}): PywinrmJob {
  const https = lab.target.connection.transport === 'https';
  return {
    endpoint: `${https ? 'https' : 'http'}://127.0.0.1:${lab.sim.port}/wsman`,
    user: 'Administrator',
    password: PASSWORD,
    commands: [{ command: POWERSHELL, args: POWERSHELL_ARGS, stdin: scriptStdin(READ).toString('base64') }, { command: 'hostname' }],
    ...extra,
  };
}

/** The same script through einklang's own client. */
async function throughEinklang(lab: Lab): Promise<unknown> {
  const session = new WinrmSession(new HttpTransport(winrmConnection(lab.target)), 'test');
  try {
    const r = await session.run(POWERSHELL, POWERSHELL_ARGS, scriptStdin(READ));
    return parseResult(r.stdout.toString('utf8'));
  } finally {
    await session.close();
  }
}

function ok(r: PywinrmResult): Extract<PywinrmResult, { results: unknown }> {
  if ('error' in r) assert.fail(`pywinrm failed: ${r.error}`);
  return r;
}

describe('pywinrm against the WinRM simulator', function () {
  this.timeout(60_000);
  let caFile = '';

  before(function () {
    const missing = pywinrmMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    caFile = join(mkdtempSync(join(tmpdir(), 'einklang-ca-')), 'lab.pem');
    writeFileSync(caFile, labCertificate(TARGET_ADDRESS, 'WIN-01').certPem);
  });

  it('HTTP with NTLM message encryption: a shell opens and closes, einklang\'s read script decodes as through einklang', async () => {
    const lab = await startLab({ transport: 'http', auth: 'ntlm' });
    try {
      prepare(lab);
      const r = ok(await runPywinrm(job(lab)));
      assert.equal(r.encrypted, true, 'pywinrm encrypted its messages');
      const [script, hostname] = r.results;
      assert.equal(script.exitCode, 0);
      const viaPywinrm = parseResult(Buffer.from(script.stdout, 'base64').toString('utf8'));
      assert.ok(viaPywinrm?.ok);
      assert.deepEqual(viaPywinrm, await throughEinklang(lab));
      assert.equal(Buffer.from(hostname.stdout, 'base64').toString(), 'WIN-01\r\n');
      const sim = lab.sim.simulator;
      assert.equal(sim.messages.plain, 0);
      assert.ok(sim.messages.sealed >= 8, `${sim.messages.sealed} sealed`);
      assert.equal(sim.shells.size, 0, 'both shells closed');
      assert.deepEqual([sim.stats.Create, sim.stats.Delete], [2, 2]);
    } finally {
      await lab.stop();
    }
  });

  it('HTTPS with NTLM: pywinrm validates the ECDSA certificate and sends a channel binding a Strict host accepts', async () => {
    const lab = await startLab({ transport: 'https', auth: 'ntlm', service: { cbtHardeningLevel: 'Strict' } });
    try {
      prepare(lab);
      const r = ok(await runPywinrm(job(lab, { caFile })));
      assert.equal(r.encrypted, false, 'TLS protects the messages');
      const viaPywinrm = parseResult(Buffer.from(r.results[0].stdout, 'base64').toString('utf8'));
      assert.deepEqual(viaPywinrm, await throughEinklang(lab));
      const a = lab.sim.simulator.authStats;
      assert.equal(a.channelBindingMatched, 2, 'pywinrm and einklang both bound NTLM to the certificate');
      assert.equal(a.refusedChannelBinding, 0);
    } finally {
      await lab.stop();
    }
  });

  it('a default host refuses unencrypted messages over HTTP with the 401 pywinrm calls "credentials rejected"', async () => {
    const lab = await startLab({ transport: 'http', auth: 'ntlm' });
    try {
      const r = await runPywinrm(job(lab, { messageEncryption: 'never' }));
      assert.ok('error' in r && /InvalidCredentialsError: the specified credentials were rejected by the server/.test(r.error), JSON.stringify(r));
      assert.equal(lab.sim.simulator.messages.refusedUnencrypted, 1);
      assert.equal(lab.sim.simulator.authStats.ntlmAuthenticated, 1, 'the credentials themselves were fine');
      assert.deepEqual(lab.sim.model.log, []);
    } finally {
      await lab.stop();
    }
  });

  it('NTLM without channel binding: refused by a Strict host, accepted by a Relaxed one (the Windows default)', async () => {
    for (const level of ['Strict', 'Relaxed'] as const) {
      const lab = await startLab({ transport: 'https', auth: 'ntlm', service: { cbtHardeningLevel: level } });
      try {
        const r = await runPywinrm(job(lab, { caFile, sendCbt: false, commands: [] }));
        const a = lab.sim.simulator.authStats;
        if (level === 'Strict') {
          assert.ok('error' in r && /InvalidCredentialsError/.test(r.error), JSON.stringify(r));
          assert.equal(a.refusedChannelBinding, 1);
        } else {
          ok(r);
          assert.equal(a.channelBindingAbsent, 1);
        }
      } finally {
        await lab.stop();
      }
    }
  });
});
