/**
 * Shell quoting, for the one place the ssh driver builds a command line:
 * wrapping its constant scripts in `sh -c '...'`. Manifest values never go
 * through here; they travel on stdin (see protocol.ts) or over SFTP.
 */

/** Quote a string as one POSIX shell word: `'...'`, with `'` written as `'\''`. NUL cannot be quoted and is refused. */
export function shq(s: string): string {
  if (s.includes('\u0000')) throw new Error('cannot shell-quote a string containing NUL');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A value that travels as one line of a stdin protocol: it must not be able to
 * start a new line or field. Throws otherwise (defence in depth: kinds'
 * validate already refused such values).
 */
export function assertLineSafe(what: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error(`${what} ${JSON.stringify(value)} contains a control character`);
  return value;
}
