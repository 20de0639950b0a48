/**
 * One Windows Remote Shell on one target, reused for every command of a
 * session: Create once, then Command / Send (stdin) / Receive until
 * CommandState Done / Signal terminate per command, Delete at close.
 */
import { DriverError } from '../../../engine/types.js';
import type { WsmanTransport } from './transport.js';
import {
  FAULT_CODE,
  WsmanFault,
  commandRequest,
  createShellRequest,
  deleteShellRequest,
  parseCommandId,
  parseReceive,
  parseShellId,
  receiveRequest,
  sendRequest,
  signalRequest,
} from './wsman.js';

export interface CommandResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** Bytes of stdin per Send message; base64 of it stays well below MaxEnvelopeSize (150 KiB). */
const STDIN_CHUNK = 96 * 1024;
/** Receive rounds before giving up on a command that never finishes. */
const MAX_RECEIVES = 100000;

export class WinrmSession {
  private shellId: string | null = null;

  constructor(
    private readonly t: WsmanTransport,
    private readonly label: string,
  ) {}

  get shell(): string | null {
    return this.shellId;
  }

  async open(): Promise<string> {
    if (!this.shellId) this.shellId = parseShellId(await this.t.post(createShellRequest(this.t)));
    return this.shellId;
  }

  /**
   * Runs one command in the shared shell. Starts over in a fresh shell once
   * when the host lost the shell, or when the shell has used up the host's
   * MaxConcurrentOperationsPerUser: Windows counts every command of a text
   * shell until the shell is deleted (MS-WSMV note <118>; Ansible recreates
   * the shell the same way, ansible/ansible PR 83656).
   */
  async run(command: string, args: string[], stdin?: Buffer): Promise<CommandResult> {
    await this.open();
    let commandId: string;
    try {
      commandId = parseCommandId(await this.t.post(commandRequest(this.t, this.shellId!, command, args)));
    } catch (e) {
      const code = e instanceof WsmanFault ? e.wsmanCode : undefined;
      if (code !== FAULT_CODE.shellNotFound && code !== FAULT_CODE.quotaMaxOperations) throw this.wrap(e);
      const old = this.shellId!;
      this.shellId = null;
      if (code === FAULT_CODE.quotaMaxOperations) await this.t.post(deleteShellRequest(this.t, old)).catch(() => undefined);
      await this.open().catch((e2) => {
        throw this.wrap(e2);
      });
      commandId = parseCommandId(await this.t.post(commandRequest(this.t, this.shellId!, command, args)).catch((e2) => {
        throw this.wrap(e2);
      }));
    }
    const shellId = this.shellId!;
    try {
      if (stdin) {
        for (let off = 0; off < stdin.length || off === 0; off += STDIN_CHUNK) {
          const end = off + STDIN_CHUNK >= stdin.length;
          await this.t.post(sendRequest(this.t, shellId, commandId, stdin.subarray(off, off + STDIN_CHUNK), end));
          if (end) break;
        }
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      for (let i = 0; i < MAX_RECEIVES; i++) {
        let chunk;
        try {
          chunk = parseReceive(await this.t.post(receiveRequest(this.t, shellId, commandId)));
        } catch (e) {
          // A long-running command: Windows answers w:TimedOut after OperationTimeout; ask again.
          if (e instanceof WsmanFault && e.wsmanCode === FAULT_CODE.timedOut) continue;
          throw e;
        }
        stdout.push(...chunk.stdout);
        stderr.push(...chunk.stderr);
        if (chunk.done) {
          await this.t.post(signalRequest(this.t, shellId, commandId)).catch(() => undefined);
          return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode: chunk.exitCode ?? 0 };
        }
      }
      throw new DriverError(`${this.label}: command did not finish`, { code: 'E_TIMEOUT' });
    } catch (e) {
      throw this.wrap(e);
    }
  }

  private wrap(e: unknown): Error {
    if (e instanceof DriverError) return e;
    if (e instanceof WsmanFault) {
      return new DriverError(`${this.label}: WinRM fault ${e.subcode || e.code}${e.wsmanCode ? ` (${e.wsmanCode})` : ''}: ${e.message}`, {
        code: 'E_WSMAN_FAULT',
      });
    }
    return new DriverError(`${this.label}: ${(e as Error).message}`, { code: 'E_PROTOCOL' });
  }

  async close(): Promise<void> {
    const id = this.shellId;
    this.shellId = null;
    try {
      if (id) await this.t.post(deleteShellRequest(this.t, id));
    } catch {
      /* the shell dies with its idle timeout anyway */
    } finally {
      this.t.close();
    }
  }
}
