/** Narrow a TargetWriter to the write style a test expects (a wrong style fails the test). */
import type { ChangeWriter, TargetWriter, TransactionWriter } from '../../engine/types.js';

export function asChangeWriter(w: TargetWriter): ChangeWriter {
  if (w.mode !== 'change') throw new Error(`expected a change writer, got mode ${w.mode}`);
  return w;
}

export function asTransactionWriter(w: TargetWriter): TransactionWriter {
  if (w.mode !== 'transaction') throw new Error(`expected a transaction writer, got mode ${w.mode}`);
  return w;
}
