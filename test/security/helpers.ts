/** Shared pieces of the security tests: a simulated OPNsense and the target that reaches it. */
import type { TargetSpec } from '../../engine/types.js';
import { startOpnsenseSim, type OpnsenseSimOptions, type RunningOpnsenseSim } from '../../providers/security/opnsense/simulator/server.js';

export const API_KEY = 'w86XNZob/8Oq8aC5r0kbNarNtdpoQU781fyoeaOBQsBwkXUt';
export const API_SECRET = 'XeD26XVrJ5ilAc/EmglCRC+0j2e57tRsjHwFepOseySWLM53pJASeTA3';
export const FIREWALL = 'conf/Firewall/fw';

export function startSim(o: Partial<OpnsenseSimOptions> = {}): Promise<RunningOpnsenseSim> {
  return startOpnsenseSim({ certSeed: FIREWALL, apiKey: API_KEY, apiSecret: API_SECRET, ...o });
}

export function firewallTarget(sim: RunningOpnsenseSim, spec: Record<string, unknown> = {}, connection: Record<string, unknown> = {}): TargetSpec {
  return {
    address: FIREWALL,
    kind: 'Firewall',
    name: 'fw',
    zone: 'school',
    spec,
    connection: { driver: 'opnsense', host: '127.0.0.1', port: sim.sim.port, apiKey: API_KEY, apiSecret: API_SECRET, tlsFingerprint: sim.sim.fingerprint, timeoutSeconds: 5, ...connection },
  };
}

/** The simulator's whole configuration, staged and running, as plain data. */
export function modelSnapshot(sim: RunningOpnsenseSim): unknown {
  const m = sim.model;
  const plain = (x: Map<string, Record<string, string>>) => Object.fromEntries([...x].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, { ...v }]));
  return { config: { rules: plain(m.config.rules), aliases: plain(m.config.aliases) }, running: { rules: plain(m.running.rules), aliases: plain(m.running.aliases) } };
}
