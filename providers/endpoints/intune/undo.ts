/**
 * Intune is not transactional: a change that needs several requests records
 * how to take back each one, and when a later request fails the earlier ones
 * are undone in reverse order, so the object is as it was before (the
 * ChangeWriter contract). When an undo step fails too, the error says exactly
 * what is left.
 */
import { DriverError } from '../../../engine/contract.js';

/** The description einklang gives objects it creates, so people in the Intune portal see who manages them. */
export const managedBy = (address: string) => `Managed by einklang (${address})`;

/** Undo steps of a change in progress, run in reverse when a later step fails. */
export class Undo {
  private readonly steps: { what: string; run: () => Promise<unknown> }[] = [];

  push(what: string, run: () => Promise<unknown>): void {
    this.steps.push({ what, run });
  }

  /** Rethrows `e` after undoing; names what could not be undone. */
  async fail(e: unknown, object: string): Promise<never> {
    const why = (e as Error).message;
    const code = (e as DriverError).opts?.code ?? 'E_API';
    const left: string[] = [];
    for (const s of this.steps.reverse()) {
      try {
        await s.run();
      } catch (u) {
        left.push(`${s.what} (${(u as Error).message})`);
      }
    }
    if (!this.steps.length) throw e;
    if (left.length) throw new DriverError(`${object}: ${why}; undoing the earlier steps failed too, so the tenant now differs from before: could not ${left.join('; could not ')}`, { code });
    throw new DriverError(`${object}: ${why}; the earlier steps were undone, ${object} is as it was`, { code, rolledBack: true });
  }
}

