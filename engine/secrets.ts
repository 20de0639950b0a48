/**
 * Secrets: `${secret:NAME}` in manifests, resolved at run time from
 * `EINKLANG_SECRET_<ZONE>_<NAME>` or from `<secrets-dir>/<zone>/<NAME>`.
 * A run resolves only its own zone's secrets. Values never leave this module
 * except toward a device; plans carry `<secret:NAME>` and a hash.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Zone } from './types.js';
import { sha256 } from './hash.js';
import { readRegularFile } from './local-files.js';

/** A secret file larger than this is not a secret value. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

const REF = /\$\{secret:([A-Z][A-Z0-9_]{0,63})\}/g;
const PLACEHOLDER = /<secret:([A-Z][A-Z0-9_]{0,63})>/g;

export class SecretError extends Error {}

export interface SecretSource {
  zone: Zone;
  dir?: string;
}

export class Secrets {
  private cache = new Map<string, string>();
  /** Every secret value handed out, for scrubbing text before it is printed. */
  private values = new Set<string>();

  constructor(private readonly source: SecretSource) {}

  get zone(): Zone {
    return this.source.zone;
  }

  value(name: string): string {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const envName = `EINKLANG_SECRET_${this.source.zone.toUpperCase()}_${name}`;
    let v = process.env[envName];
    if (v === undefined && this.source.dir) {
      const f = join(this.source.dir, this.source.zone, name);
      if (existsSync(f)) {
        try {
          v = readRegularFile(f, MAX_SECRET_FILE_BYTES).toString('utf8').replace(/\r?\n$/, '');
        } catch (e) {
          throw new SecretError(`secret file ${f}: ${(e as Error).message}`);
        }
      }
    }
    if (v === undefined) {
      throw new SecretError(`secret ${name} is not set: define ${envName} or the file ${this.source.dir ? join(this.source.dir, this.source.zone, name) : `<secrets-dir>/${this.source.zone}/${name}`}`);
    }
    this.cache.set(name, v);
    if (v.length >= 4) this.values.add(v);
    return v;
  }

  hash(name: string): string {
    return 'sha256:' + sha256(this.value(name));
  }

  /** Replace `${secret:NAME}` (manifest form) or `<secret:NAME>` (plan form) with values, deeply. */
  resolve<T>(v: T, form: 'manifest' | 'plan' = 'manifest', used?: Set<string>): T {
    const re = form === 'manifest' ? REF : PLACEHOLDER;
    const walk = (x: unknown): unknown => {
      if (typeof x === 'string') {
        return x.includes(form === 'manifest' ? '${secret:' : '<secret:')
          ? x.replace(re, (_m, name: string) => {
              used?.add(name);
              return this.value(name);
            })
          : x;
      }
      if (Array.isArray(x)) return x.map(walk);
      if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
      return x;
    };
    return walk(v) as T;
  }

  /** Remove any secret value this run has seen from a text (error messages from devices, ...). */
  scrub(text: string): string {
    let out = text;
    for (const v of this.values) out = out.split(v).join('<redacted>');
    return out;
  }
}

/** Manifest form to plan form: `${secret:X}` -> `<secret:X>`. */
export function redactRefs<T>(v: T): T {
  const walk = (x: unknown): unknown => {
    if (typeof x === 'string') return x.includes('${secret:') ? x.replace(REF, (_m, n: string) => `<secret:${n}>`) : x;
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return walk(v) as T;
}

/** Names of the secrets a value uses (manifest form). */
export function secretNames(v: unknown, out = new Set<string>()): Set<string> {
  if (typeof v === 'string') for (const m of v.matchAll(REF)) out.add(m[1]);
  else if (Array.isArray(v)) v.forEach((x) => secretNames(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => secretNames(x, out));
  return out;
}
