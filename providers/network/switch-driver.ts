/**
 * The Driver object both switch drivers share: one session per target,
 * batched reads into the switch model, and one transaction per target
 * (transaction.ts). A driver supplies how to connect, read and transact.
 */
import type { Change, Driver, SessionOptions, TargetReader, TargetSpec, TargetWriter } from '../../engine/types.js';
import { switchConnectionSettings, type SwitchConnectionSettings } from './connection.js';
import { opsFromChanges, readResultFromConfig, type SwitchConfig } from './model.js';
import { checkRequested } from './read-check.js';
import { runTransaction, type TransactionDevice } from './transaction.js';

export interface SwitchDriverParts<S> {
  name: 'ios' | 'aoscx';
  /** Open the session (checking the pinned identity before sending anything). */
  connect(target: TargetSpec, settings: SwitchConnectionSettings, opts: SessionOptions): Promise<S>;
  readConfig(session: S): Promise<SwitchConfig>;
  transaction(session: S, settings: SwitchConnectionSettings): TransactionDevice;
  close(session: S): Promise<void>;
}

export function switchDriver<S>(parts: SwitchDriverParts<S>): Driver {
  const driver: Driver = {
    name: parts.name,

    // The reader holds the same session but no write method: a plan cannot write, by construction.
    async connectReader(target: TargetSpec, opts?: SessionOptions): Promise<TargetReader> {
      const w = await driver.connectWriter(target, opts);
      return { read: (objects) => w.read(objects), close: () => w.close() };
    },

    async connectWriter(target: TargetSpec, opts: SessionOptions = {}): Promise<TargetWriter> {
      const settings = switchConnectionSettings(target, opts);
      const session = await parts.connect(target, settings, opts);
      return {
        mode: 'transaction',
        async read(objects) {
          const config = await parts.readConfig(session);
          checkRequested(config, objects, target.name); // a port the switch lacks is a plan-time error
          return readResultFromConfig(config, objects);
        },
        async applyTransaction(changes: Change[]) {
          const ops = opsFromChanges(changes); // throws before anything is sent
          await runTransaction(parts.transaction(session, settings), ops, {
            target: target.address,
            revertWaitMs: settings.rollbackWaitMs,
            log: opts.log,
          });
        },
        close: () => parts.close(session),
      };
    },
  };
  return driver;
}
