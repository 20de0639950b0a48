/**
 * An interactive switch CLI over SSH (ssh2), for the IOS driver and for the
 * AOS-CX driver's `checkpoint auto` commands: pinned host key, prompt
 * detection, terminal set-up, one command at a time with its echo checked,
 * and batched reads.
 *
 * Prompts: IOS/IOS-XE abbreviates the hostname in configuration-mode prompts
 * (netmiko's CiscoIosBase.set_base_prompt: "Cisco IOS/IOS-XE abbreviates the
 * prompt at 20-chars in config mode", and it matches on the first 16
 * characters, ktbyers/netmiko netmiko/cisco/cisco_ios.py @66b916f). So a
 * prompt is the hostname's first 16 characters followed by any further name
 * characters, an optional mode in parentheses and `#` or `>`; a long hostname
 * never hangs a session.
 *
 * Echo: like netmiko's send_config_set(cmd_verify=True), every line's echo
 * must come back as it was sent; an echo that differs stops the session (the
 * switch did not read what was sent). Lines go one at a time (run) or as a
 * short block of one VLAN's or one interface's lines (batch), each line's
 * output split off at the prompt that follows it.
 */
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { DriverError } from '../../engine/types.js';
import { sshFingerprintOfBlob } from '../lab/identity.js';

export interface CliConnection {
  host: string;
  port?: number;
  user: string;
  password: string;
  hostKeyFingerprint: string;
}

export interface CliSessionOptions {
  timeoutMs: number;
  /** Label for messages (the target address). */
  label: string;
  /** Commands run after the first prompt (paging off, terminal width). */
  setup: string[];
  /** Refuse a session whose prompt ends in `>` (IOS: not privilege 15; AOS-CX: not the manager context `checkpoint auto` needs). */
  requirePrivileged?: boolean;
}

const PROMPT_TAIL = /(?:^|\n)([A-Za-z0-9][A-Za-z0-9._-]{0,62})(\([A-Za-z0-9-]+\))?([#>]) ?$/;
/** How many characters of the hostname a prompt is sure to show (netmiko: 16; IOS truncates config prompts at 20). */
export const PROMPT_HOSTNAME_CHARS = 16;

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Terminal control sequences (CSI) some switches mix into their output. */
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export class CliSession {
  private buf = '';
  private waiter?: () => void;
  private dead?: Error;
  private hostname = '';
  private promptRe = PROMPT_TAIL;
  private promptSplit = /(?:^|\n)[A-Za-z0-9][A-Za-z0-9._-]{0,62}(?:\([A-Za-z0-9-]+\))?[#>] ?/g;

  private constructor(
    private readonly client: ssh2.Client,
    private readonly stream: ClientChannel,
    private readonly opts: CliSessionOptions,
  ) {
    stream.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8').replace(/\r/g, '').replace(ANSI, '');
      this.waiter?.();
    });
    const gone = (why: string) => {
      if (!this.dead) this.dead = new Error(why);
      this.waiter?.();
    };
    stream.on('close', () => gone('session closed by the switch'));
    client.on('close', () => gone('connection closed'));
    client.on('error', (e) => gone(`connection error: ${e.message}`));
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Connect, check the host key, authenticate, open a shell and prepare the terminal. */
  static async open(conn: CliConnection, opts: CliSessionOptions): Promise<CliSession> {
    const client = new ssh2.Client();
    client.on('error', () => undefined); // errors are reported through the promises below; never crash the process
    let presented: string | undefined;
    const pinned = conn.hostKeyFingerprint;
    const ready = new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (e) => reject(e));
      client.once('close', () => reject(new Error('connection closed before login')));
    });
    client.connect({
      host: conn.host,
      port: conn.port ?? 22,
      username: conn.user,
      password: conn.password,
      readyTimeout: opts.timeoutMs,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        presented = sshFingerprintOfBlob(key);
        return typeof pinned === 'string' && presented === pinned;
      },
    });
    try {
      await ready;
    } catch (err) {
      client.end();
      if (presented !== undefined && presented !== pinned) {
        throw new DriverError(
          `${opts.label}: host key mismatch: pinned ${pinned}, switch presented ${presented}; nothing was sent`,
          { code: 'E_HOSTKEY_MISMATCH' },
        );
      }
      throw new DriverError(`${opts.label}: cannot connect to ${conn.host}:${conn.port ?? 22}: ${(err as Error).message}`, { code: 'E_CONNECT' });
    }
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      client.shell({ term: 'vt100', cols: 511, rows: 24 }, (err, s) => (err ? reject(err) : resolve(s))),
    ).catch((err) => {
      client.end();
      throw new DriverError(`${opts.label}: cannot open a shell: ${(err as Error).message}`, { code: 'E_CONNECT' });
    });
    const s = new CliSession(client, stream, opts);
    try {
      await s.waitFor(() => PROMPT_TAIL.test(s.buf), 'the first prompt');
      const m = PROMPT_TAIL.exec(s.buf)!;
      if (m[3] === '>' && opts.requirePrivileged) {
        throw new DriverError(`${opts.label}: logged in without full privileges (prompt ${m[0].trim()}); einklang needs an administrator account (IOS: privilege 15)`, { code: 'E_PRIVILEGE' });
      }
      s.setHostname(m[1]);
      s.buf = '';
      for (const c of opts.setup) await s.run(c);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  private setHostname(h: string): void {
    this.hostname = h;
    // the first characters of the hostname, then whatever a truncated or full prompt shows
    const name = `${esc(h.slice(0, PROMPT_HOSTNAME_CHARS))}[A-Za-z0-9._-]*`;
    this.promptRe = new RegExp(`(?:^|\\n)${name}(\\([A-Za-z0-9-]+\\))?([#>]) ?$`);
    this.promptSplit = new RegExp(`(?:^|\\n)${name}(?:\\([A-Za-z0-9-]+\\))?[#>] ?`, 'g');
  }

  private waitFor(cond: () => boolean, what: string, timeoutMs = this.opts.timeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      const expire = () => done(new Error(`no answer from the switch within ${timeoutMs} ms (waiting for ${what})`));
      const timer = setTimeout(expire, timeoutMs);
      const check = () => {
        if (cond()) return done(undefined);
        if (this.dead) return done(this.dead);
      };
      const done = (err: Error | undefined) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (err) {
          // after a timeout the session's state is unknown: never reuse it
          if (!this.dead) this.dead = err;
          reject(err);
        } else resolve();
      };
      this.waiter = check;
      check();
    });
  }

  private promptCount(): number {
    return (this.buf.match(this.promptSplit) ?? []).length;
  }

  /** Write command lines (refusing any with a line break: one value must never become two commands). */
  private send(cmds: string[]): void {
    if (this.dead) throw this.dead;
    for (const c of cmds) {
      if (/[\r\n]/.test(c)) throw new DriverError(`${this.opts.label}: refusing to send a command with a line break`, { code: 'E_NET_UNSAFE_VALUE' });
    }
    this.buf = '';
    this.stream.write(cmds.map((c) => c + '\n').join(''));
  }

  /** A command's part of the output (echo line + output): check the echo, return the output. */
  private output(part: string, cmd: string): string {
    const nl = part.indexOf('\n');
    const echo = (nl < 0 ? part : part.slice(0, nl)).trim();
    if (echo !== cmd.trim()) {
      const err = new DriverError(`${this.opts.label}: the switch echoed ${JSON.stringify(echo)} for ${JSON.stringify(cmd)}; stopped`, { code: 'E_NET_ECHO' });
      this.dead = err; // what the switch is doing is unknown: never send another line on this session
      throw err;
    }
    return nl < 0 ? '' : part.slice(nl + 1);
  }

  /**
   * Send several read-only command lines at once (one round trip) and return
   * each one's output, in order. Configuration commands go through run().
   */
  async batch(cmds: string[], timeoutMs?: number): Promise<string[]> {
    this.send(cmds);
    await this.waitFor(
      () => this.promptRe.test(this.buf.slice(-200)) && this.promptCount() >= cmds.length,
      cmds.length === 1 ? `"${cmds[0]}"` : `${cmds.length} commands`,
      timeoutMs,
    );
    // parts[i] = echo of cmds[i] + "\n" + output; the last part is what follows the final prompt (empty)
    const parts = this.buf.split(this.promptSplit);
    this.buf = '';
    return cmds.map((c, i) => this.output(parts[i] ?? '', c));
  }

  /** One command: send it alone, wait for the prompt, check the echo; returns its output. */
  async run(cmd: string, timeoutMs?: number): Promise<string> {
    this.send([cmd]);
    await this.waitFor(() => this.promptRe.test(this.buf.slice(-200)), `"${cmd}"`, timeoutMs);
    const part = this.buf.split(this.promptSplit)[0] ?? '';
    this.buf = '';
    return this.output(part, cmd);
  }

  get name(): string {
    return this.hostname;
  }

  close(): void {
    try {
      if (!this.dead && this.stream.writable) this.stream.end('exit\n');
    } catch {
      /* already gone */
    }
    if (!this.dead) this.dead = new Error('session closed');
    this.client.end();
  }
}
