/**
 * Keeps secrets out of error messages and logs. Every secret a client holds
 * (password, client secret, API key, each access token it obtains) is
 * registered here, and every message the kit produces passes through
 * `redact` before it becomes an Error or a log line. Servers sometimes echo
 * what they were sent (a token in an error text, a form body in a 400), so
 * the kit redacts what comes back too, not only what it writes itself.
 */

const MASK = '<redacted>';

export class Redactor {
  private readonly values = new Set<string>();
  private sorted: string[] = [];

  /** Registers a secret in the forms it can appear in: as is, URL-encoded (form bodies) and base64 (Basic auth). */
  add(secret: string | undefined | null): void {
    if (!secret) return;
    for (const form of [secret, encodeURIComponent(secret), new URLSearchParams({ x: secret }).toString().slice(2)]) this.values.add(form);
    this.sorted = [...this.values].sort((a, b) => b.length - a.length);
  }

  /** Registers the `Authorization: Basic` value of a user and password (its base64 would otherwise leak). */
  addBasic(user: string, password: string): void {
    this.add(Buffer.from(`${user}:${password}`, 'utf8').toString('base64'));
  }

  /** The text with every registered secret replaced by `<redacted>`. */
  redact(text: string): string {
    let out = text;
    for (const v of this.sorted) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }
}
