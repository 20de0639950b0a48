/**
 * Static checks of an `ssh` connection at validate time (no connection, no
 * secret read, no ssh2 loaded): Linux only, a pinned host key, a way to log in.
 */
import type { Diagnostic, Resource } from '../../../engine/model.js';
import { posOf } from '../../../engine/positions.js';

export function validateSshConnection(res: Resource): Diagnostic[] {
  const c = res.spec?.connection ?? {};
  if (c.driver !== 'ssh') return [];
  const out: Diagnostic[] = [];
  const at = (p: string) => posOf(res, p);
  if (res.spec?.os !== undefined && res.spec.os !== 'linux') {
    out.push({ severity: 'error', code: 'E_DRIVER_OS', message: `${res.address}: the ssh driver serves Linux servers (os: linux)`, pos: at('/spec/os') });
  }
  if (!c.hostKeyFingerprint) {
    out.push({ severity: 'error', code: 'E_HOST_KEY', message: `${res.address}: spec.connection.hostKeyFingerprint is required (pin the host key, as printed by ssh-keygen -lf)`, pos: at('/spec/connection') });
  }
  if (!c.privateKeyFile && c.password === undefined) {
    out.push({ severity: 'error', code: 'E_AUTH', message: `${res.address}: spec.connection needs privateKeyFile or password`, pos: at('/spec/connection') });
  }
  return out;
}
