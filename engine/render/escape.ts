/**
 * The one escaping module for everything einklang prints: plans (text,
 * markdown, json), diagnostics, progress, apply reports, journal output.
 *
 * Much of what einklang shows comes from places a reviewer does not control:
 * file content and device output read live, manifest values written in the
 * change under review. Printed raw, an ESC sequence in a file's content can
 * erase the lines above it and print "No changes" on the reviewer's terminal;
 * a bidi override (U+202E) reorders what a reviewer reads; a backtick in a
 * value can close a markdown code span and turn the rest of a merge-request
 * comment into markup.
 *
 * - `visible`: C0 controls except newline and tab, DEL, C1, and the bidi
 *   controls (overrides/embeddings U+202A–U+202E, isolates U+2066–U+2069, and
 *   the marks U+200E, U+200F, U+061C) are written as `\x1b` (code points
 *   below U+0100) or `\u202e`. Backslashes are left as they are: file content
 *   stays readable, and an escape that was in the data is just text.
 * - `visibleJson`: the same characters as JSON `\uXXXX` escapes, so the JSON
 *   still parses to exactly the same values.
 * - markdown: `mdText` (inline text, every ASCII punctuation backslash-escaped
 *   as CommonMark allows), `mdCode` (a code span whose backtick fence is longer
 *   than any backtick run in the value), `mdFence` (a fenced block likewise),
 *   `htmlText` (inside the raw HTML of <details>/<summary>, where markdown
 *   escapes do not apply).
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, '0');
}

/** `s` with every control or bidi character written as `\xHH` / `\uHHHH`; newline and tab stay. */
export function visible(s: string): string {
  if (!UNSAFE_TEST.test(s)) return s;
  return s.replace(UNSAFE, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** A JSON value with `visible` applied to every string in it, keys included. */
export function visibleDeep<T>(v: T): T {
  if (typeof v === 'string') return visible(v) as T;
  if (Array.isArray(v)) return v.map((x) => visibleDeep(x)) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[visible(k)] = visibleDeep(x);
    return out as T;
  }
  return v;
}

/**
 * JSON text in which no control or bidi character is raw. JSON.stringify
 * already escapes U+0000–U+001F; DEL, C1 and the bidi controls it leaves raw
 * become `\uXXXX`, which parse back to the same characters.
 */
export function visibleJson(text: string): string {
  if (!UNSAFE_TEST.test(text)) return text;
  return text.replace(UNSAFE, (c) => `\\u${hex(c, 4)}`);
}

/** Inline markdown text: one line, controls escaped, every ASCII punctuation backslash-escaped. */
export function mdText(s: string): string {
  return visible(s)
    .replace(/[\r\n]+/g, ' ')
    .replace(/[!-/:-@[-`{-~]/g, (m) => '\\' + m);
}

/** The shortest backtick fence longer than every backtick run in `s` (at least `min`). */
function backtickFence(s: string, min: number): string {
  let longest = 0;
  for (const m of s.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(min, longest + 1));
}

/**
 * A markdown code span that shows `s` literally. Backslash escapes do not work
 * inside code spans, so the fence is chosen instead: longer than any backtick
 * run in the value, with a space inside when the value starts or ends with a
 * backtick or a space (CommonMark strips one such space on each side).
 */
export function mdCode(s: string): string {
  const v = visible(s).replace(/[\r\n]+/g, ' ');
  const f = backtickFence(v, 1);
  const pad = /^[` ]|[` ]$/.test(v) ? ' ' : '';
  return `${f}${pad}${v}${pad}${f}`;
}

/** A fenced code block that shows `text` literally, whatever lines it holds. */
export function mdFence(text: string, lang = ''): string {
  const v = visible(text);
  const f = backtickFence(v, 3);
  return `${f}${lang}\n${v}\n${f}`;
}

/** Text inside raw HTML (a <summary>): entities, not markdown escapes. */
export function htmlText(s: string): string {
  return visible(s)
    .replace(/[\r\n]+/g, ' ')
    .replace(/[&<>"'`]/g, (m) => `&#${m.charCodeAt(0)};`);
}
