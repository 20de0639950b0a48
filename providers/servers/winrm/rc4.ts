/**
 * RC4, the stream cipher NTLM session security seals with (MS-NLMP 3.4.3,
 * "RC4(Handle, Message)"). OpenSSL 3 keeps RC4 in its legacy provider, which
 * Node does not load, so it is written out here. The state carries over from
 * one update() to the next: NTLM seals every message of a connection (and
 * encrypts every signature checksum) with ONE running keystream per direction.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Buffer) {
    if (key.length === 0) throw new Error('RC4 key must not be empty');
    const s = this.s;
    for (let n = 0; n < 256; n++) s[n] = n;
    for (let n = 0, j = 0; n < 256; n++) {
      j = (j + s[n] + key[n % key.length]) & 0xff;
      const t = s[n];
      s[n] = s[j];
      s[j] = t;
    }
  }

  /** Encrypts (or decrypts: the same operation) the next bytes of the stream. */
  update(data: Buffer): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]) & 0xff;
      const t = s[i];
      s[i] = s[j];
      s[j] = t;
      out[n] = data[n] ^ s[(s[i] + s[j]) & 0xff];
    }
    this.i = i;
    this.j = j;
    return out;
  }
}
