/**
 * The winrm driver against the WinRM simulator: the server conformance suite,
 * with the Windows profile, over both ways a Windows host is reached: HTTPS
 * (pinned certificate, NTLM with channel binding) and the default HTTP
 * listener (NTLM, every message sealed).
 */
import { winrmDriver } from '../../providers/servers/winrm/index.js';
import { serverConformance, WINDOWS } from '../servers/conformance.js';
import { startLab, windowsHostAccess } from './helpers.js';

for (const transport of ['https', 'http'] as const) {
  serverConformance(`winrm driver against the WinRM simulator (${transport}, NTLM)`, async () => {
    const lab = await startLab({ transport, auth: 'ntlm' });
    const { model, simulator } = lab.sim;
    const base = 'C:\\ektest';
    model.directories.set(base, { path: base, owner: 'Administrators', group: 'None' });
    return {
      driver: winrmDriver,
      target: lab.target,
      os: WINDOWS,
      base,
      prefix: 'ektest_',
      idBase: 0,
      host: windowsHostAccess(model),
      packages: false,
      services: { a: 'Spooler', b: 'W32Time' },
      existingGroup: 'Users',
      commandCount: () => simulator.stats.Command ?? 0,
      requestCount: () => Object.values(simulator.stats).reduce((a, b) => a + b, 0),
      failedOps: () => model.log.filter((l) => !l.ok).length,
      // the simulator drops the next request(s); the suite only asks for 'drop the next one'
      dropAfter: (n) => (simulator.faults.dropConnections = n === undefined ? 0 : 1),
      unpinnable: transport === 'http' ? 'WinRM over HTTP has no certificate; NTLM sealing protects the messages' : undefined,
      cleanup: () => lab.stop(),
    };
  });
}
