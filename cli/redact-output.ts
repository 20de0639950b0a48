/**
 * Defence in depth for "secrets never reach output": once a run has read its
 * zone's secrets, everything written to stdout and stderr passes through
 * Secrets.scrub, whatever module wrote it (a driver's error text, a rendered
 * plan, a progress line). The explicit scrubbing in the engine stays the
 * first line; this catches what it missed.
 */
import type { Secrets } from '../engine/secrets.js';

const guarded = new WeakSet<NodeJS.WriteStream>();
const scrubbers: Secrets[] = [];

export function redactOutput(secrets: Secrets): void {
  if (!scrubbers.includes(secrets)) scrubbers.push(secrets);
  for (const stream of [process.stdout, process.stderr]) {
    if (guarded.has(stream)) continue;
    guarded.add(stream);
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      let text: unknown = chunk;
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) {
        let s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        for (const sec of scrubbers) s = sec.scrub(s);
        text = s;
      }
      return write(text, ...rest);
    }) as typeof stream.write;
  }
}
