/**
 * Stage 1: load. Reads manifest files into plain documents that remember
 * where every value came from.
 *
 * Errors are collected, never thrown (eemeli/yaml style): one bad file still
 * lets the user see every other problem in the same run.
 *
 * Limits (documented in the README): a manifest file may be at most
 * MAX_FILE_BYTES; larger files are refused before parsing, so a 50 MB file
 * costs neither time nor memory. A manifest must be a regular file: a device
 * (/dev/zero), FIFO or socket is refused without reading or waiting. YAML aliases are capped so that an alias
 * bomb ("billion laughs") is refused instead of expanding.
 */
import { dirname } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import type { Diagnostic, SourcePos } from './types.js';
import { pointerSegment } from './diff.js';
import { readRegularFile, type LocalFileError } from './local-files.js';

export const MAX_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_ALIAS_COUNT = 100;
export const MAX_DOCUMENTS_PER_FILE = 10_000;

/** One YAML document of a manifest file, before it is known to be a valid resource. */
export interface LoadedDocument {
  file: string;
  dir: string;
  /** Index of the document in its file (0-based). */
  index: number;
  value: unknown;
  pos: SourcePos;
  positions: Record<string, [number, number]>;
}

export interface LoadResult {
  documents: LoadedDocument[];
  diagnostics: Diagnostic[];
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if ((b & 0xe0) === 0xc0) [need, min] = [1, 0x80];
    else if ((b & 0xf0) === 0xe0) [need, min] = [2, 0x800];
    else if ((b & 0xf8) === 0xf0) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Line and column (in characters, like the YAML positions; a leading BOM does not count) of a byte offset. */
function posOfOffset(buf: Buffer, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  for (let i = lineStart; i < offset; i++) {
    if (buf[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  let col = 1;
  for (let i = lineStart; i < offset; i++) if ((buf[i] & 0xc0) !== 0x80) col++;
  return { line, col };
}

/** Load every document of one manifest file. `displayName` is how the file is named in diagnostics. */
export function loadFile(path: string, displayName = path): LoadResult {
  const at = (line: number, col: number): SourcePos => ({ file: displayName, line, col });
  let buf: Buffer;
  try {
    // A regular file of at most MAX_FILE_BYTES, read without ever blocking on a FIFO or reading a device (local-files.ts).
    buf = readRegularFile(path, MAX_FILE_BYTES);
  } catch (e) {
    const err = e as LocalFileError;
    const message = err.code === 'E_FILE_TOO_LARGE' ? `manifest ${err.message} (split it into several files)` : err.code === 'E_NOT_REGULAR' ? `manifest is ${err.message}` : err.message;
    return { documents: [], diagnostics: [{ severity: 'error', code: err.code ?? 'E_READ', message, pos: at(1, 1) }] };
  }
  const bad = firstInvalidUtf8(buf);
  if (bad >= 0) {
    const p = posOfOffset(buf, bad);
    return { documents: [], diagnostics: [{ severity: 'error', code: 'E_ENCODING', message: `invalid UTF-8 (byte 0x${buf[bad].toString(16).padStart(2, '0')} at offset ${bad}); manifests must be UTF-8`, pos: at(p.line, p.col) }] };
  }
  return loadText(buf.toString('utf8'), displayName, dirname(path));
}

export function loadText(text: string, file: string, dir: string): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const documents: LoadedDocument[] = [];
  const lc = new LineCounter();
  const at = (offset: number): SourcePos => {
    const p = lc.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true, stringKeys: true });
  } catch (e) {
    return { documents, diagnostics: [{ severity: 'error', code: 'E_YAML', message: `cannot parse YAML: ${(e as Error).message}`, pos: { file, line: 1, col: 1 } }] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > MAX_DOCUMENTS_PER_FILE) {
    return { documents, diagnostics: [{ severity: 'error', code: 'E_TOO_MANY_DOCUMENTS', message: `more than ${MAX_DOCUMENTS_PER_FILE} documents in one file`, pos: { file, line: 1, col: 1 } }] };
  }
  list.forEach((doc, index) => {
    // Warnings are errors here: an unknown tag (`!!python/object`, `!vault`) or YAML version would
    // otherwise be dropped silently and the value used as a plain string.
    const errs = [...doc.errors, ...doc.warnings];
    // yaml often reports one mistake several times on its line (a bad indent as BLOCK_AS_IMPLICIT_KEY,
    // MULTILINE_IMPLICIT_KEY and MISSING_CHAR): the first report of a line is the one that says why.
    const lines = new Set<number>();
    for (const err of errs) {
      const pos = at(unclosedStart(doc.contents as YamlNode, err.code, err.pos[0]) ?? err.pos[0]);
      if (lines.has(pos.line)) continue;
      lines.add(pos.line);
      diagnostics.push({ severity: 'error', code: 'E_YAML', message: yamlMessage(err.code, err.message), pos });
    }
    if (errs.length) return;
    // An empty document (a trailing `---`, `---` twice, only comments) is no resource; yaml gives it an empty null scalar.
    if (doc.contents == null || (isScalar(doc.contents) && doc.contents.value === null && doc.contents.range?.[0] === doc.contents.range?.[1])) return;
    const start = doc.contents.range ? doc.contents.range[0] : 0;
    const aliasCount = countAliases(doc.contents as YamlNode);
    if (aliasCount > MAX_ALIAS_COUNT) {
      diagnostics.push({ severity: 'error', code: 'E_YAML_ALIASES', message: `document uses ${aliasCount} aliases; at most ${MAX_ALIAS_COUNT} are allowed (alias expansion bomb?)`, pos: at(start) });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // Thrown while resolving aliases: an undefined alias, or expansion beyond maxAliasCount (billion laughs).
      const message = (e as Error).message;
      const unresolved = /^Unresolved alias.*: (.+)$/.exec(message.split('\n')[0]);
      const code = /alias count/i.test(message) ? 'E_YAML_ALIASES' : 'E_YAML';
      diagnostics.push({ severity: 'error', code, message: yamlMessage('', message), pos: at((unresolved && aliasOffset(doc.contents as YamlNode, unresolved[1])) ?? start) });
      return;
    }
    const positions: Record<string, [number, number]> = {};
    collectPositions(doc.contents as YamlNode, '', positions, lc);
    documents.push({ file, dir, index, value, pos: at(start), positions });
  });
  return { documents, diagnostics };
}

/**
 * yaml reports an unclosed quote or flow collection where it gave up (often
 * the end of the file); point at the opening quote or bracket instead.
 */
function unclosedStart(node: YamlNode | null | undefined, code: string, offset: number): number | undefined {
  if (code !== 'MISSING_CHAR' && code !== 'BAD_INDENT') return undefined;
  let best: number | undefined;
  const walk = (x: unknown): void => {
    if (!x) return;
    if (isPair(x)) return (walk(x.key), walk(x.value));
    const n = x as YamlNode;
    const opens = isScalar(n) ? n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE' : (isMap(n) || isSeq(n)) && n.flow;
    if (opens && n.range && n.range[1] === offset && (best === undefined || n.range[0] > best)) best = n.range[0];
    if (isMap(n) || isSeq(n)) for (const item of n.items) walk(item);
  };
  walk(node);
  return best;
}

function yamlMessage(code: string, message: string): string {
  // yaml's messages end with "at line X, column Y" plus a code frame; the position is printed separately.
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '');
  return code ? `${first} (${code})` : first;
}

/** Offset of the first alias `*name` in a document. */
function aliasOffset(node: YamlNode | null | undefined, name: string): number | undefined {
  let found: number | undefined;
  const walk = (x: unknown): void => {
    if (!x || found !== undefined) return;
    if (isAlias(x)) {
      if (x.source === name && x.range) found = x.range[0];
    } else if (isMap(x) || isSeq(x)) for (const item of x.items) walk(item);
    else if (isPair(x)) (walk(x.key), walk(x.value));
  };
  walk(node);
  return found;
}

function countAliases(node: YamlNode | null | undefined): number {
  let n = 0;
  const walk = (x: unknown): void => {
    if (!x) return;
    if (isAlias(x)) n++;
    else if (isMap(x) || isSeq(x)) for (const item of x.items) walk(item);
    else if (isPair(x)) {
      walk(x.key);
      walk(x.value);
    }
  };
  walk(node);
  return n;
}

function collectPositions(node: YamlNode | null | undefined, pointer: string, out: Record<string, [number, number]>, lc: LineCounter): void {
  if (!node) return;
  if (node.range) {
    const p = lc.linePos(node.range[0]);
    out[pointer] = [p.line, p.col];
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const child = pointer + '/' + pointerSegment(key);
      // A key's own position is where the diagnostic for a missing/extra property should point.
      if (isScalar(pair.key) && pair.key.range) {
        const p = lc.linePos(pair.key.range[0]);
        out[child + '#key'] = [p.line, p.col];
      }
      collectPositions(pair.value as YamlNode, child, out, lc);
      if (!out[child] && out[child + '#key']) out[child] = out[child + '#key'];
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => collectPositions(item as YamlNode, `${pointer}/${i}`, out, lc));
  }
}

/** Position for a JSON pointer, falling back to the nearest ancestor that has one. */
export function positionOf(doc: { pos: SourcePos; positions: Record<string, [number, number]> }, pointer: string, preferKey = false): SourcePos {
  let p = pointer;
  for (;;) {
    const hit = (preferKey && doc.positions[p + '#key']) || doc.positions[p];
    if (hit) return { file: doc.pos.file, line: hit[0], col: hit[1] };
    if (p === '' || p === '/') return doc.pos;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
