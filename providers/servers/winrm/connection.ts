/**
 * A winrm connection's settings (defaults: https on 5986, http on 5985,
 * NTLM) and its static checks at validate time. No driver code: validate and
 * plans of other servers load only this.
 */
import type { Diagnostic, Resource } from '../../../engine/model.js';
import type { SessionOptions, TargetSpec } from '../../../engine/contract.js';
import { posOf } from '../../../engine/positions.js';
import type { HttpTransportOptions } from './transport.js';

export interface WinrmConnection extends HttpTransportOptions {
  allowUnencrypted: boolean;
}

/** Connection settings with defaults: https on 5986, http on 5985, NTLM. */
export function winrmConnection(target: TargetSpec, opts: SessionOptions = {}): WinrmConnection {
  const c = target.connection ?? {};
  const isHttps = (c.transport ?? 'https') === 'https';
  return {
    host: String(c.host ?? '127.0.0.1'),
    port: Number(c.port ?? (isHttps ? 5986 : 5985)),
    https: isHttps,
    auth: c.auth === 'basic' ? 'basic' : 'ntlm',
    user: String(c.user ?? ''),
    password: c.password == null ? '' : String(c.password),
    tlsFingerprint: c.tlsFingerprint,
    allowUnencrypted: c.allowUnencrypted === true,
    timeoutMs: opts.timeoutMs ?? (c.timeoutSeconds ? Number(c.timeoutSeconds) * 1000 : 60000),
  };
}


/** Static checks of a winrm connection (validate time; warnings end up in the plan). */
export function validateWinrmConnection(res: Resource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const c = res.spec?.connection ?? {};
  const at = (f: string) => posOf(res, `/spec/connection/${f}`);
  const transport = c.transport ?? 'https';
  const auth = c.auth ?? 'ntlm';
  if (res.spec?.os && res.spec.os !== 'windows') {
    out.push({ severity: 'error', code: 'E_UNSUPPORTED_OS', message: `${res.address}: the winrm driver manages Windows servers; this Server has os: ${res.spec.os}`, pos: posOf(res, '/spec/os') });
  }
  if (!c.user) out.push({ severity: 'error', code: 'E_REQUIRED', message: `${res.address}: connection.user is required for winrm`, pos: at('driver') });
  if (c.password === undefined) {
    out.push({ severity: 'error', code: 'E_REQUIRED', message: `${res.address}: connection.password is required for winrm (as \${secret:NAME})`, pos: at('driver') });
  } else if (typeof c.password !== 'string' || !/^\$\{secret:[A-Za-z0-9_]+\}$/.test(c.password)) {
    out.push({ severity: 'error', code: 'E_PLAINTEXT_SECRET', message: `${res.address}: connection.password must be a secret reference \${secret:NAME}, not a literal`, pos: at('password') });
  }
  if (transport === 'http' && auth === 'basic') {
    if (c.allowUnencrypted === true) {
      out.push({
        severity: 'warning',
        code: 'W_UNENCRYPTED',
        message: `${res.address}: WinRM with Basic authentication over plain HTTP: the SOAP messages and the password travel unencrypted; use auth: ntlm (encrypted messages) or transport: https with a pinned tlsFingerprint`,
        pos: at('allowUnencrypted'),
      });
    } else {
      out.push({
        severity: 'error',
        code: 'E_UNENCRYPTED',
        message:
          `${res.address}: WinRM with Basic authentication over plain HTTP is refused: the password and the data would travel in clear text. ` +
          'Use auth: ntlm (einklang encrypts every message, as Windows requires by default), transport: https with tlsFingerprint, or set connection.allowUnencrypted: true (the plan shows a warning).',
        pos: at('transport'),
      });
    }
  }
  if (transport === 'http' && c.tlsFingerprint !== undefined) {
    out.push({ severity: 'warning', code: 'W_TLS_FINGERPRINT_UNUSED', message: `${res.address}: connection.tlsFingerprint has no effect with transport: http (there is no certificate); did you mean transport: https?`, pos: at('tlsFingerprint') });
  } else if (transport === 'https') {
    if (!c.tlsFingerprint) {
      out.push({ severity: 'warning', code: 'W_TLS_UNPINNED', message: `${res.address}: no connection.tlsFingerprint: the certificate must be trusted by the system CAs`, pos: at('transport') });
    } else if (typeof c.tlsFingerprint !== 'string' || !/^(sha256:)?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(c.tlsFingerprint.replace(/\s/g, ''))) {
      out.push({ severity: 'error', code: 'E_TLS_FINGERPRINT_FORMAT', message: `${res.address}: tlsFingerprint must be a SHA-256 fingerprint (64 hex digits, optionally separated by ':')`, pos: at('tlsFingerprint') });
    }
  }
  return out;
}
