/**
 * An interactive IOS CLI session over SSH (ssh2): pinned host key, prompt
 * detection, `terminal length 0`, and batched commands (several lines sent
 * at once, outputs split at the prompts that follow them).
 */
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { DriverError } from '../../../engine/types.js';
import { sshFingerprintOfBlob } from '../../lab/identity.js';

export interface IosConnection {
  host: string;
  port?: number;
  user: string;
  password: string;
  hostKeyFingerprint: string;
}

export interface IosSessionOptions {
  timeoutMs: number;
  /** Label for messages (the target address). */
  label: string;
}

const PROMPT_TAIL = /(?:^|\n)([A-Za-z0-9][A-Za-z0-9._-]{0,62})(\([A-Za-z0-9-]+\))?([#>]) ?$/;

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An IOS error line in command output (`% Invalid input ...`, `% Incomplete command.`). Informational `%` lines are not errors. */
export function iosError(output: string): string | undefined {
  for (const l of output.split('\n')) {
    if (!/^%/.test(l)) continue;
    if (/^% Access VLAN does not exist\. Creating vlan/.test(l)) continue;
    return l.trim();
  }
  return undefined;
}

export class IosSession {
  private buf = '';
  private waiter?: () => void;
  private dead?: Error;
  private hostname = '';
  private promptRe = PROMPT_TAIL;
  private promptSplit = /(?:^|\n)[A-Za-z0-9][A-Za-z0-9._-]{0,62}(?:\([A-Za-z0-9-]+\))?[#>] ?/g;

  private constructor(
    private readonly client: ssh2.Client,
    private readonly stream: ClientChannel,
    private readonly opts: IosSessionOptions,
  ) {
    stream.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8').replace(/\r/g, '');
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
  static async open(conn: IosConnection, opts: IosSessionOptions): Promise<IosSession> {
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
    const s = new IosSession(client, stream, opts);
    try {
      await s.waitFor(() => PROMPT_TAIL.test(s.buf), 'the first prompt');
      const m = PROMPT_TAIL.exec(s.buf)!;
      if (m[3] === '>') throw new DriverError(`${opts.label}: logged in without privilege 15 (prompt ${m[0].trim()}); einklang needs a privileged account`, { code: 'E_PRIVILEGE' });
      s.setHostname(m[1]);
      s.buf = '';
      await s.batch(['terminal length 0', 'terminal width 511']);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  private setHostname(h: string): void {
    this.hostname = h;
    this.promptRe = new RegExp(`(?:^|\\n)${esc(h)}(\\([A-Za-z0-9-]+\\))?([#>]) ?$`);
    this.promptSplit = new RegExp(`(?:^|\\n)${esc(h)}(?:\\([A-Za-z0-9-]+\\))?[#>] ?`, 'g');
  }

  /** Wait until `cond`; with `idle`, the timeout counts from the last data received rather than from the start. */
  private waitFor(cond: () => boolean, what: string, timeoutMs = this.opts.timeoutMs, idle = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const expire = () => done(new Error(`no answer from the switch within ${timeoutMs} ms (waiting for ${what})`));
      let timer = setTimeout(expire, timeoutMs);
      let seen = this.buf.length;
      const check = () => {
        if (cond()) return done(undefined);
        if (this.dead) return done(this.dead);
        if (idle && this.buf.length !== seen) {
          seen = this.buf.length;
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
        }
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

  /**
   * Send several command lines at once and return each one's output (echo and
   * prompt removed), in order. Waits until as many prompts came back.
   */
  async batch(cmds: string[], timeoutMs?: number, idle = false): Promise<string[]> {
    if (this.dead) throw this.dead;
    for (const c of cmds) {
      if (/[\r\n]/.test(c)) throw new DriverError(`${this.opts.label}: refusing to send a command with a line break`, { code: 'E_NET_UNSAFE_VALUE' });
    }
    this.buf = '';
    this.stream.write(cmds.map((c) => c + '\n').join(''));
    await this.waitFor(
      () => this.promptRe.test(this.buf.slice(-200)) && this.promptCount() >= cmds.length,
      cmds.length === 1 ? `"${cmds[0]}"` : `${cmds.length} commands`,
      timeoutMs,
      idle,
    );
    const parts = this.buf.split(this.promptSplit);
    this.buf = '';
    // parts[i] = echo of cmds[i] + "\n" + output; the last part is what follows the final prompt (empty)
    return cmds.map((_, i) => {
      const p = parts[i] ?? '';
      const nl = p.indexOf('\n');
      return nl < 0 ? '' : p.slice(nl + 1);
    });
  }

  async run(cmd: string, timeoutMs?: number): Promise<string> {
    return (await this.batch([cmd], timeoutMs))[0];
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
