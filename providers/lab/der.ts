/**
 * A minimal DER (ITU-T X.690) writer: exactly the element types a
 * self-signed X.509 certificate needs. Lengths use the definite short or long
 * form, as DER requires; nothing here is parsed, only built.
 */

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: tag byte, length, the concatenated contents. */
export function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

export const sequence = (...p: Buffer[]) => der(0x30, ...p);
export const set = (...p: Buffer[]) => der(0x31, ...p);
export const octetString = (b: Buffer) => der(0x04, b);
export const utf8String = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
/** BIT STRING without unused bits (keys, signatures). */
export const bitString = (b: Buffer) => der(0x03, Buffer.from([0]), b);
export const boolean = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0]));
/** Context-specific tag [n]: constructed (EXPLICIT) or primitive (IMPLICIT, e.g. SAN entries). */
export const explicit = (n: number, ...p: Buffer[]) => der(0xa0 | n, ...p);
export const implicit = (n: number, b: Buffer) => der(0x80 | n, b);

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const group: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return der(0x06, Buffer.from(out));
}

/** A non-negative INTEGER from its big-endian magnitude (leading zeros dropped, a 0x00 added when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return der(0x02, m[0] & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

/**
 * A certificate validity time: UTCTime through 2049 and GeneralizedTime from
 * 2050 on, as RFC 5280 section 4.1.2.5 requires. `t` is `YYYYMMDDHHMMSSZ`.
 */
export function x509Time(t: string): Buffer {
  return Number(t.slice(0, 4)) < 2050 ? der(0x17, Buffer.from(t.slice(2), 'ascii')) : der(0x18, Buffer.from(t, 'ascii'));
}
