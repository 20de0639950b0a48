/**
 * Secrets: `${secret:NAME}` in manifests, resolved at run time from
 * `EINKLANG_SECRET_<ZONE>_<NAME>` or from `<secrets-dir>/<zone>/<NAME>`.
 * A run resolves only its own zone's secrets. Values never leave this module
 * except toward a device; plans carry `<secret:NAME>` and a keyed fingerprint
 * (HMAC-SHA256 with a random salt per plan, so a fingerprint cannot be
 * checked against guessed values offline, nor compared across plans).
 *
 * Redaction is by value, for every secret of the zone, referenced or not:
 * `redactAll()` reads them all up front, and `scrub` replaces any of their
 * values in text bound for a plan file, the terminal, a log or the journal.
 * (A manifest that stops referencing a secret must not show its old value in
 * the diff of what is live.)
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Zone } from './types.js';
import { readRegularFile } from './local-files.js';

/** A secret file larger than this is not a secret value. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

const REF = /\$\{secret:([A-Z][A-Z0-9_]{0,63})\}/g;
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Shorter values are not redacted by value: replacing every "ab" in a plan would garble it and protect nothing. */
const MIN_REDACT_LENGTH = 4;
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
    this.remember(v);
    return v;
  }

  /**
   * Reads every secret of the zone (environment variables and files) so that
   * `scrub` knows all their values. Unreadable or oddly named entries are
   * skipped: this only widens redaction, it never resolves anything.
   */
  redactAll(): this {
    const prefix = `EINKLANG_SECRET_${this.source.zone.toUpperCase()}_`;
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith(prefix) && v !== undefined) this.remember(v);
    if (this.source.dir) {
      const dir = join(this.source.dir, this.source.zone);
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        names = [];
      }
      for (const n of names) {
        if (!SECRET_NAME.test(n)) continue;
        try {
          this.remember(readRegularFile(join(dir, n), MAX_SECRET_FILE_BYTES).toString('utf8').replace(/\r?\n$/, ''));
        } catch {
          /* not readable: not a value this run can leak either */
        }
      }
    }
    return this;
  }

  private remember(v: string): void {
    if (v.length >= MIN_REDACT_LENGTH) this.values.add(v);
    const trimmed = v.trim();
    if (trimmed !== v && trimmed.length >= MIN_REDACT_LENGTH) this.values.add(trimmed);
  }

  /** `hmac-sha256:<hex>` of a secret's value, keyed with the plan's salt. */
  fingerprint(name: string, salt: string): string {
    return 'hmac-sha256:' + createHmac('sha256', Buffer.from(salt, 'base64')).update(this.value(name), 'utf8').digest('hex');
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

  /** Remove any secret value this run knows (see redactAll) from a text. Longest values first, so none is half-replaced. */
  scrub(text: string): string {
    if (!this.values.size || typeof text !== 'string') return text;
    let out = text;
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) if (out.includes(v)) out = out.split(v).join('<redacted>');
    return out;
  }

  /** `scrub` over every string of a JSON value (keys included). */
  scrubDeep<T>(v: T): T {
    if (!this.values.size) return v;
    const walk = (x: unknown): unknown => {
      if (typeof x === 'string') return this.scrub(x);
      if (Array.isArray(x)) return x.map(walk);
      if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [this.scrub(k), walk(y)]));
      return x;
    };
    return walk(v) as T;
  }
}

/** A new random salt for a plan's secret fingerprints (base64, 128 bits). */
export function newSecretSalt(): string {
  return randomBytes(16).toString('base64');
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
