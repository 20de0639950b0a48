/**
 * Built-in policy `builtin/no-literal-secrets` (mandatory): a field whose name
 * says it holds a secret must be exactly `${secret:NAME}`.
 *
 * A field is secret by name when its last word (camelCase, snake_case and
 * kebab-case split) is password, passwd, pwd, passphrase, secret, token, psk
 * or key — so `password`, `adminPassword`, `api_token`, `wpaPsk`,
 * `preSharedKey`, `privateKey` are checked, while `privateKeyFile`,
 * `hostKeyFingerprint`, `secretName` are not. Names with the word `public` or
 * `host` (`publicKey`, `hostKey`: public material) are never secret.
 * Strings and numbers are checked (booleans and null carry no secret), lists
 * under a secret name are checked item by item. The value is never printed.
 */
import type { PolicyResult, PolicyViolation, Resource } from '../engine/types.js';
import { isPlainObject, posAt, seg } from './util.js';

export const NO_LITERAL_SECRETS = 'builtin/no-literal-secrets';

export const SECRET_REF = /^\$\{secret:[A-Za-z0-9_]+\}$/;

const SECRET_WORDS = new Set(['password', 'passwords', 'passwd', 'pwd', 'passphrase', 'secret', 'secrets', 'token', 'tokens', 'psk', 'key', 'apikey']);
const PUBLIC_WORDS = new Set(['public', 'host']);
const MAX_DEPTH = 64;

const nameCache = new Map<string, boolean>();

/** True if a field of this name must hold a `${secret:NAME}` reference. */
export function isSecretFieldName(name: string): boolean {
  let hit = nameCache.get(name);
  if (hit === undefined) {
    const words = name
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
    hit = words.length > 0 && !words.some((w) => PUBLIC_WORDS.has(w)) && SECRET_WORDS.has(words[words.length - 1]);
    if (nameCache.size > 100_000) nameCache.clear();
    nameCache.set(name, hit);
  }
  return hit;
}

function literal(v: unknown): boolean {
  if (typeof v === 'number' || typeof v === 'bigint') return true;
  return typeof v === 'string' && !SECRET_REF.test(v);
}

export function findLiteralSecrets(res: Resource): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  // The path is kept as a stack of segments; the pointer string is built only for a finding.
  const path: (string | number)[] = [];
  const walk = (v: unknown, secret: boolean): void => {
    if (path.length > MAX_DEPTH) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i], secret);
        path.pop();
      }
    } else if (isPlainObject(v)) {
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        path.push(k);
        walk(v[k], isSecretFieldName(k));
        path.pop();
      }
    } else if (secret && literal(v)) {
      out.push({
        address: res.address,
        message: `spec.${path.join('.')} holds a literal value; write \${secret:NAME} and provide the value at run time`,
        pos: posAt(res, '/spec/' + path.map(seg).join('/')),
      });
    }
  };
  walk(res.spec, false);
  return out;
}

export function literalSecretsPolicy(zoneResources: Resource[]): PolicyResult {
  const violations: PolicyViolation[] = [];
  for (const r of zoneResources) {
    if (r.kind === 'Reviewer') continue; // public keys only, by schema
    violations.push(...findLiteralSecrets(r));
  }
  return { name: NO_LITERAL_SECRETS, enforcement: 'mandatory', passed: violations.length === 0, violations };
}
