/**
 * Canonical JSON and hashing. Plans, fingerprints and signatures all hash the
 * same canonical form (object keys sorted, no whitespace), so that two
 * machines serialising the same data get the same hash.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Fingerprint of a live object (or of its absence), as recorded in a plan's change. */
export function liveFingerprint(state: Record<string, unknown> | null | undefined): string {
  return 'sha256:' + sha256(state == null ? 'absent' : canonicalJson(state));
}
