/**
 * Name-based UUIDs, version 5 (SHA-1), as RFC 9562 §5.5 (formerly RFC 4122
 * §4.3) defines them: the same namespace and name always give the same UUID.
 *
 * Where an API lets the client choose an object's id (OPNsense `setRule/{uuid}`
 * is an upsert: an unknown well-formed UUID creates the rule under that UUID,
 * research/opnsense.md), einklang uses `resourceUuid(address)`: the id is a
 * function of the resource address, so a re-run finds its own objects without
 * any state file, and two environments never collide.
 */
import { createHash } from 'node:crypto';

/** RFC 9562 §6.6 (Appendix A of RFC 4122): the DNS and URL name spaces. */
export const NAMESPACE_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
export const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/**
 * einklang's name space for resource addresses: uuidv5('urn:einklang:resource-address', NAMESPACE_URL).
 * FIXED FOREVER — changing it would give every managed object a new id.
 */
export const EINKLANG_NAMESPACE = 'c55e45fd-6e80-5e94-8021-d573552bc9d0';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for the 8-4-4-4-12 hex form (any version). */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** The version-5 UUID of `name` (UTF-8) in `namespace`, lower-case 8-4-4-4-12. */
export function uuidv5(name: string, namespace: string): string {
  if (!isUuid(namespace)) throw new Error(`not a UUID: ${namespace}`);
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const b = createHash('sha1').update(ns).update(Buffer.from(name, 'utf8')).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50; // version 5
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx (RFC 9562)
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The stable server id of a desired object: uuidv5 of its address
 * (`DesiredObject.address`, e.g. `gs-nord/FirewallRule/web`, with `[key]` when a
 * resource expands to several objects) in EINKLANG_NAMESPACE.
 */
export function resourceUuid(address: string): string {
  return uuidv5(address, EINKLANG_NAMESPACE);
}
