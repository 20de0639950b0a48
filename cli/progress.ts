/**
 * Progress on stderr: a single updating line on a terminal, plain lines in CI
 * (no terminal), nothing with --quiet. Never prints secret values: callers
 * pass messages that went through Secrets.scrub. Messages carry device output
 * (a host's stderr): their control characters are escaped (render/escape.ts).
 */
import { visible } from '../engine/render/escape.js';

export class Progress {
  private lastLen = 0;
  constructor(
    private readonly tty: boolean,
    private readonly quiet: boolean,
  ) {}

  static forStderr(quiet = false): Progress {
    return new Progress(!!process.stderr.isTTY && !process.env.CI, quiet);
  }

  update(verb: string, done: number, total: number, target: string, ok: boolean, message?: string): void {
    if (this.quiet) return;
    if (this.tty) {
      const line = visible(`${verb} ${done}/${total} targets  ${target}${ok ? '' : ' (failed)'}`);
      process.stderr.write('\r' + line.padEnd(this.lastLen) );
      this.lastLen = line.length;
      if (!ok && message) this.line(`${verb} ${target}: ${message}`);
      if (done === total) this.finish();
    } else {
      process.stderr.write(visible(`${verb} ${target}: ${ok ? 'ok' : 'failed' + (message ? `: ${message}` : '')} (${done}/${total})`) + '\n');
    }
  }

  line(msg: string): void {
    if (this.quiet) return;
    if (this.tty && this.lastLen) this.finish();
    process.stderr.write(visible(msg) + '\n');
  }

  finish(): void {
    if (this.tty && this.lastLen) {
      process.stderr.write('\r' + ' '.repeat(this.lastLen) + '\r');
      this.lastLen = 0;
    }
  }
}
