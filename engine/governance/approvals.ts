/**
 * Four-eyes approvals (Vier-Augen-Prinzip) with Ed25519 (node:crypto).
 *
 * Key material:
 *   NAME.key  PKCS#8 PEM private key, mode 0600 (the reviewer keeps it)
 *   NAME.pub  the raw 32-byte public key, base64 (44 chars) + newline: exactly
 *             the `publicKey` of the Reviewer resource and of an Approval.
 *
 * A signature covers the plan's `hash` string (UTF-8). The hash covers every
 * field of the plan but `hash` and `approvals` (computePlanHash), so a
 * signature is bound to exactly the reviewed content.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Approval, Plan, Resource } from '../types.js';

// ------------------------------------------------------------------- hashing

/** The plan hash is defined once, with the plan file format. */
import { computePlanHash } from '../plan-file.js';
export { computePlanHash };

// ---------------------------------------------------------------------- keys

/** Raw Ed25519 public key as base64 (the Reviewer/Approval form). */
export function publicKeyBase64(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new Error('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

/** Parse a base64 raw Ed25519 public key; null if it is not one. */
export function parsePublicKey(b64: unknown): KeyObject | null {
  if (typeof b64 !== 'string') return null;
  const text = b64.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return null;
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== text) return null;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return null;
  }
}

/** Why a Reviewer publicKey is not usable, or null if it is fine. */
export function publicKeyError(b64: unknown): string | null {
  if (typeof b64 !== 'string') return 'publicKey must be a string';
  if (b64.includes('BEGIN')) return 'publicKey must be the base64 raw key from NAME.pub, not a PEM block';
  return parsePublicKey(b64) ? null : 'publicKey is not a base64 Ed25519 public key (32 bytes, 44 characters ending in "=")';
}

export interface KeygenResult {
  keyFile: string;
  pubFile: string;
  publicKey: string;
}

/** Write `<name>.key` (PKCS#8 PEM, 0600) and `<name>.pub` into outDir; never overwrites. */
export function keygen(outDir: string, name = 'reviewer'): KeygenResult {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new Error(`invalid key name "${name}" (letters, digits, . _ -)`);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const pub = publicKeyBase64(publicKey);
  const keyFile = join(outDir, `${name}.key`);
  const pubFile = join(outDir, `${name}.pub`);
  try {
    writeFileSync(keyFile, pem, { flag: 'wx', mode: 0o600 });
  } catch (e: any) {
    if (e?.code === 'EEXIST') throw new Error(`${keyFile} already exists; not overwriting a key`);
    throw e;
  }
  writeFileSync(pubFile, pub + '\n', { flag: 'w', mode: 0o644 });
  return { keyFile, pubFile, publicKey: pub };
}

// ------------------------------------------------------------------- signing

/** Sign the plan's hash. Refuses a plan whose hash does not match its content. */
export function signPlan(plan: Plan, keyPem: string, reviewerName: string): Approval {
  const expected = computePlanHash(plan);
  if (plan.hash !== expected) throw new Error('plan hash does not match its content (the plan was modified); not signing');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new Error('not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key is ${key.asymmetricKeyType}, expected ed25519`);
  return {
    reviewer: reviewerName,
    publicKey: publicKeyBase64(createPublicKey(key)),
    signature: sign(null, Buffer.from(plan.hash, 'utf8'), key).toString('base64'),
    signedAt: new Date().toISOString(),
  };
}

export function verifySignature(hash: string, a: Approval): boolean {
  const key = parsePublicKey(a?.publicKey);
  if (!key || typeof a.signature !== 'string' || typeof hash !== 'string') return false;
  try {
    return verify(null, Buffer.from(hash, 'utf8'), key, Buffer.from(a.signature, 'base64'));
  } catch {
    return false;
  }
}

// -------------------------------------------------------------- verification

export interface ApprovalRules {
  /** Approvals needed before extras. */
  count: number;
  /** Groups whose members may approve; empty = any declared reviewer. */
  groups: string[];
}

export interface ApprovalCheck {
  ok: boolean;
  reasons: string[];
  /** The approvals that count (distinct reviewers, valid signature, right group, not the author). */
  valid: Approval[];
}

interface ReviewerInfo {
  name: string;
  emails: string[];
  logins: string[];
  /** Intersection of the groups of every declaration of this key. */
  groups: Set<string>;
  ambiguous: boolean;
}

function norm(s: unknown): string {
  return typeof s === 'string' ? s.trim().toLowerCase() : '';
}

/**
 * Index Reviewer resources by public key. A key declared by two different
 * reviewer names is ambiguous and never counts; a key declared several times
 * for one name (several environments) counts with the groups all
 * declarations agree on.
 */
function reviewersByKey(reviewers: Resource[]): Map<string, ReviewerInfo> {
  const m = new Map<string, ReviewerInfo>();
  for (const r of reviewers ?? []) {
    if (r?.kind !== 'Reviewer') continue;
    const key = typeof r.spec?.publicKey === 'string' ? r.spec.publicKey.trim() : '';
    if (!parsePublicKey(key)) continue;
    const groups = new Set<string>(Array.isArray(r.spec.groups) ? r.spec.groups.map(String) : []);
    const emails = r.spec.email ? [norm(r.spec.email)] : [];
    const logins = Array.isArray(r.spec.logins) ? r.spec.logins.map(norm) : [];
    const prev = m.get(key);
    if (!prev) {
      m.set(key, { name: r.name, emails, logins, groups, ambiguous: false });
    } else {
      if (prev.name !== r.name) prev.ambiguous = true;
      prev.groups = new Set([...prev.groups].filter((g) => groups.has(g)));
      prev.emails.push(...emails);
      prev.logins.push(...logins);
    }
  }
  return m;
}

/**
 * Identity strings of one person compared as the same: case-insensitive, a
 * leading `@` (GitLab/GitHub mentions) dropped, an e-mail also by its local
 * part, and all of them also with separators removed (`anna-schmidt`,
 * `anna.schmidt@stadt.de`, `Anna_Schmidt` are one person). Erring towards
 * "same person" only ever refuses an approval, never grants one.
 */
function identityForms(s: unknown): string[] {
  const v = norm(s).replace(/^@/, '');
  if (!v) return [];
  const forms = [v];
  const at = v.indexOf('@');
  if (at > 0) forms.push(v.slice(0, at));
  for (const f of [...forms]) {
    const squashed = f.replace(/[^a-z0-9]/g, '');
    if (squashed.length >= 3) forms.push(squashed);
  }
  return forms;
}

function isAuthor(author: string | null, info: ReviewerInfo): boolean {
  const a = new Set(identityForms(author));
  if (!a.size) return false;
  return [info.name, ...info.emails, ...info.logins].some((id) => identityForms(id).some((f) => a.has(f)));
}

/** Whether a Reviewer resource is the plan's author under any of their declared identities (name, e-mail, logins). */
export function reviewerIsAuthor(reviewer: Resource, author: string | null): boolean {
  const emails = reviewer.spec?.email ? [norm(reviewer.spec.email)] : [];
  const logins = Array.isArray(reviewer.spec?.logins) ? reviewer.spec.logins.map(norm) : [];
  return isAuthor(author, { name: reviewer.name, emails, logins, groups: new Set(), ambiguous: false });
}

/**
 * Check a plan's approvals against the declared reviewers and the rules.
 * Needs `rules.count + extra` approvals that count. A signature that does not
 * verify refuses the whole plan (someone tampered with it); duplicates, unknown
 * keys, wrong groups and the author's own approval are not counted, each with
 * a reason.
 */
export function verifyApprovals(
  plan: Plan,
  reviewers: Resource[],
  rules: ApprovalRules,
  author: string | null,
  extra: number,
): ApprovalCheck {
  const reasons: string[] = [];
  const valid: Approval[] = [];
  const needed = Math.max(0, Math.floor(rules?.count ?? 0)) + Math.max(0, Math.floor(extra || 0));
  const groups = (rules?.groups ?? []).filter(Boolean);
  const byKey = reviewersByKey(reviewers);
  const seenKeys = new Set<string>();
  const seenNames = new Set<string>();
  let forged = false;
  const approvals: Approval[] = Array.isArray(plan?.approvals) ? plan.approvals : [];

  approvals.forEach((a, i) => {
    const label = `approval ${i + 1} (${typeof a?.reviewer === 'string' ? a.reviewer : '?'})`;
    const key = typeof a?.publicKey === 'string' ? a.publicKey.trim() : '';
    if (!verifySignature(plan.hash, a)) {
      forged = true;
      reasons.push(`${label}: signature does not verify against the plan hash (forged, or signed a different plan)`);
      return;
    }
    if (seenKeys.has(key)) {
      reasons.push(`${label}: duplicate signature by the same key; counted once`);
      return;
    }
    seenKeys.add(key);
    const info = byKey.get(key);
    if (!info) {
      reasons.push(`${label}: key ${key.slice(0, 12)}... belongs to no declared Reviewer`);
      return;
    }
    if (info.ambiguous) {
      reasons.push(`${label}: key is declared by more than one Reviewer; not counted`);
      return;
    }
    if (a.reviewer !== info.name) {
      reasons.push(`${label}: signed as "${a.reviewer}" but the key belongs to Reviewer ${info.name}; not counted`);
      return;
    }
    if (seenNames.has(info.name)) {
      reasons.push(`${label}: ${info.name} already approved (with another key); counted once`);
      return;
    }
    if (groups.length && !groups.some((g) => info.groups.has(g))) {
      reasons.push(`${label}: ${info.name} is not in an approving group (${groups.join(', ')})`);
      return;
    }
    if (isAuthor(author, info)) {
      reasons.push(`${label}: ${info.name} is the plan's author and cannot approve their own plan (four eyes)`);
      return;
    }
    seenNames.add(info.name);
    valid.push(a);
  });

  if (needed > 0 && !norm(author)) {
    reasons.push('the plan records no author, so four eyes cannot be enforced; re-plan with --author');
    return { ok: false, reasons, valid };
  }
  if (forged) return { ok: false, reasons, valid };
  if (valid.length < needed) {
    const from = groups.length ? ` from ${groups.join(' or ')}` : '';
    const extraTxt = extra > 0 ? ` (${rules?.count ?? 0} + ${extra} extra)` : '';
    reasons.push(`needs ${needed} approval(s)${from}${extraTxt}, has ${valid.length} valid`);
    return { ok: false, reasons, valid };
  }
  return { ok: true, reasons, valid };
}

// -------------------------------------------------------------------- author

const CI_AUTHOR_VARS = [
  'EINKLANG_AUTHOR',
  'GITLAB_USER_EMAIL',
  'GITLAB_USER_LOGIN',
  'GITHUB_ACTOR',
  'BUILD_REQUESTEDFOREMAIL', // Azure DevOps
  'BITBUCKET_STEP_TRIGGERER_UUID',
  'GIT_AUTHOR_EMAIL',
];

/**
 * Who made a plan: `--author`, else the CI's user variables, else
 * `git config user.email`, else the OS user name. Null only if all fail.
 */
export function planAuthor(opts: { author?: string | null; env?: NodeJS.ProcessEnv; cwd?: string } = {}): string | null {
  if (opts.author && opts.author.trim()) return opts.author.trim();
  const env = opts.env ?? process.env;
  for (const v of CI_AUTHOR_VARS) {
    const x = env[v];
    if (x && x.trim()) return x.trim();
  }
  try {
    const email = execFileSync('git', ['config', 'user.email'], {
      cwd: opts.cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
    if (email) return email;
  } catch {
    /* no git or no user.email */
  }
  try {
    const u = userInfo().username;
    if (u) return u;
  } catch {
    /* no passwd entry */
  }
  return null;
}
