/**
 * A small namespace-aware XML reader and writer for WS-Management envelopes.
 *
 * SOAP messages are small and regular; a full XML library is not needed. The
 * reader resolves prefixes to namespace URIs (so `env:Envelope` and
 * `s:Envelope` are the same element), decodes entities and CDATA, and refuses
 * DOCTYPE declarations (no entity expansion attacks).
 */

export interface XmlAttr {
  /** Qualified name as written (`xml:lang`, `CommandId`). */
  name: string;
  local: string;
  /** Namespace URI ('' for unprefixed attributes). */
  ns: string;
  value: string;
}

export interface XmlElement {
  name: string;
  local: string;
  ns: string;
  attrs: XmlAttr[];
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export class XmlError extends Error {}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff) throw new XmlError(`bad character reference ${m}`);
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlError(`unknown entity ${m}`);
    return v;
  });
}

const NAME = /[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?/y;

export function parseXml(src: string): XmlElement {
  let i = 0;
  if (src.charCodeAt(0) === 0xfeff) i = 1;
  const stack: { el: XmlElement; scope: Map<string, string> }[] = [];
  let root: XmlElement | null = null;

  const fail = (msg: string): never => {
    throw new XmlError(`${msg} at offset ${i}`);
  };
  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const resolve = (qname: string, scope: Map<string, string>, isAttr: boolean) => {
    const c = qname.indexOf(':');
    const prefix = c >= 0 ? qname.slice(0, c) : '';
    const local = c >= 0 ? qname.slice(c + 1) : qname;
    if (prefix === 'xml') return { local, ns: XML_NS };
    if (prefix === '' && isAttr) return { local, ns: '' };
    const ns = scope.get(prefix);
    if (ns === undefined) {
      if (prefix === '') return { local, ns: '' };
      fail(`undeclared namespace prefix ${prefix}`);
    }
    return { local, ns: ns! };
  };

  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (stack.length) stack[stack.length - 1].el.text += decodeEntities(text);
    else if (text.trim()) fail('text outside the root element');
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<?', i)) {
      const e = src.indexOf('?>', i);
      if (e < 0) fail('unterminated processing instruction');
      i = e + 2;
    } else if (src.startsWith('<!--', i)) {
      const e = src.indexOf('-->', i);
      if (e < 0) fail('unterminated comment');
      i = e + 3;
    } else if (src.startsWith('<![CDATA[', i)) {
      const e = src.indexOf(']]>', i);
      if (e < 0) fail('unterminated CDATA');
      if (!stack.length) fail('CDATA outside the root element');
      stack[stack.length - 1].el.text += src.slice(i + 9, e);
      i = e + 3;
    } else if (src.startsWith('<!', i)) {
      fail('DOCTYPE and declarations are not accepted');
    } else if (src.startsWith('</', i)) {
      i += 2;
      const name = readName();
      skipWs();
      if (src[i] !== '>') fail('expected >');
      i++;
      const top = stack.pop();
      if (!top || top.el.name !== name) fail(`mismatched end tag </${name}>`);
    } else {
      i++;
      const name = readName();
      const raw: { name: string; value: string }[] = [];
      for (;;) {
        skipWs();
        if (src[i] === '>' || src.startsWith('/>', i)) break;
        if (i >= src.length) fail('unterminated start tag');
        const an = readName();
        skipWs();
        if (src[i] !== '=') fail('expected =');
        i++;
        skipWs();
        const q = src[i];
        if (q !== '"' && q !== "'") fail('expected quoted attribute value');
        const e = src.indexOf(q, i + 1);
        if (e < 0) fail('unterminated attribute value');
        raw.push({ name: an, value: decodeEntities(src.slice(i + 1, e)) });
        i = e + 1;
      }
      const selfClose = src[i] === '/';
      i += selfClose ? 2 : 1;
      const parentScope = stack.length ? stack[stack.length - 1].scope : new Map<string, string>();
      const scope = new Map(parentScope);
      for (const a of raw) {
        if (a.name === 'xmlns') scope.set('', a.value);
        else if (a.name.startsWith('xmlns:')) scope.set(a.name.slice(6), a.value);
      }
      const { local, ns } = resolve(name, scope, false);
      const attrs: XmlAttr[] = raw.map((a) => {
        if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) {
          return { name: a.name, local: a.name === 'xmlns' ? 'xmlns' : a.name.slice(6), ns: XMLNS_NS, value: a.value };
        }
        const r = resolve(a.name, scope, true);
        return { name: a.name, local: r.local, ns: r.ns, value: a.value };
      });
      const el: XmlElement = { name, local, ns, attrs, children: [], text: '' };
      if (stack.length) stack[stack.length - 1].el.children.push(el);
      else if (root) fail('more than one root element');
      else root = el;
      if (!selfClose) stack.push({ el, scope });
    }
  }
  if (stack.length) fail(`unclosed element <${stack[stack.length - 1].el.name}>`);
  if (!root) fail('no root element');
  return root!;
}

/** Attributes that are not namespace declarations. */
export function realAttrs(el: XmlElement): XmlAttr[] {
  return el.attrs.filter((a) => a.ns !== XMLNS_NS);
}

export function attr(el: XmlElement, local: string, ns = ''): string | undefined {
  return el.attrs.find((a) => a.local === local && a.ns === ns)?.value;
}

export function child(el: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.local === local);
}

export function childrenOf(el: XmlElement | undefined, ns: string, local: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.local === local) : [];
}

/** Follow a path of [ns, local] steps from `el`. */
export function path(el: XmlElement | undefined, ...steps: [string, string][]): XmlElement | undefined {
  let cur = el;
  for (const [ns, local] of steps) cur = child(cur, ns, local);
  return cur;
}

/** Escape text for element content and attribute values (both quote styles). */
export function esc(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
