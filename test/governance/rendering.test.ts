/**
 * Issue 9 item 7: what einklang prints never carries a control character raw,
 * and markdown never lets a value out of its code span or fence.
 *
 * The markdown checks parse the output with commonmark.js, the CommonMark
 * reference implementation (GitLab and GitHub render CommonMark), so they
 * test what a merge-request comment really becomes.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type Node as MdNode } from 'commonmark';
import { htmlText, mdCode, mdFence, mdText, visible, visibleJson } from '../../engine/render/escape.js';
import { renderMarkdown } from '../../engine/render/markdown.js';
import { renderText } from '../../engine/render/text.js';
import { formatDiagnostic } from '../../cli/commands.js';
import { makePlan } from './helpers.js';
import { runCli } from '../support/cli.js';
import { startLabServer, type LabServer } from '../support/lab-server.js';

/** Characters that must never be printed raw. */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const HOSTILE = [
  '\u001b[2K\u001b[1A\u001b[2K  No changes. Live state matches the manifests.',
  'evil\u202ecod.exe',
  'isolate \u2066x\u2069 embed \u202ax\u202c',
  'bell \u0007 del \u007f c1 \u009b31m nul \u0000 cr \r',
  'a`b',
  '``two``',
  '`lead',
  'trail`',
  ' spaced ',
  '<img src=x onerror=alert(1)>',
  '</code></summary></details><script>x</script>',
  '[link](javascript:alert(1)) ![img](x) *em* _em_ **b** ~~s~~ | pipe | # h',
  '&amp; &lt; \\` \\',
  'line1\nline2\n\nparagraph',
];

function walk(root: MdNode): MdNode[] {
  const out: MdNode[] = [];
  const w = root.walker();
  for (let ev = w.next(); ev; ev = w.next()) if (ev.entering) out.push(ev.node);
  return out;
}

const parse = (md: string) => new Parser().parse(md);

describe('rendering: control characters and markdown escaping', () => {
  it('visible escapes C0 (but newline and tab), DEL, C1 and bidi controls, and nothing else', () => {
    assert.equal(visible('a\u001b[31mb'), 'a\\x1b[31mb');
    assert.equal(visible('x\u202ey'), 'x\\u202ey');
    assert.equal(visible('\u2066\u2069\u202a'), '\\u2066\\u2069\\u202a');
    assert.equal(visible('\u0000\u007f\u0080\u009f\r'), '\\x00\\x7f\\x80\\x9f\\x0d');
    assert.equal(visible('keep\ttabs\nand lines, ümlaut 😀 \\x1b'), 'keep\ttabs\nand lines, ümlaut 😀 \\x1b');
    for (let cp = 0; cp < 0x2100; cp++) {
      const c = String.fromCodePoint(cp);
      assert.equal(RAW.test(visible(c)), false, `U+${cp.toString(16)} stays raw`);
    }
    // JSON: the same characters as \u escapes; the value parses back unchanged
    const value = { s: 'x\u202e\u007f\u0085\u001by' };
    const json = visibleJson(JSON.stringify(value));
    assert.equal(RAW.test(json), false);
    assert.deepEqual(JSON.parse(json), value);
  });

  it('a code span holds exactly the value, whatever backticks, markup or lines it has', () => {
    for (const v of HOSTILE) {
      const doc = parse(`before ${mdCode(v)} after`);
      const nodes = walk(doc);
      const codes = nodes.filter((n) => n.type === 'code');
      assert.equal(codes.length, 1, JSON.stringify(v));
      assert.equal(codes[0].literal, visible(v).replace(/\n+/g, ' '), JSON.stringify(v));
      assert.deepEqual(nodes.map((n) => n.type), ['document', 'paragraph', 'text', 'code', 'text'], JSON.stringify(v));
    }
  });

  it('inline text is text: no link, emphasis, html or heading, and says what the value says', () => {
    for (const v of HOSTILE) {
      const doc = parse(`x ${mdText(v)} y`);
      const nodes = walk(doc);
      assert.deepEqual([...new Set(nodes.map((n) => n.type))].sort(), ['document', 'paragraph', 'text'], JSON.stringify(v));
      const text = nodes.filter((n) => n.type === 'text').map((n) => n.literal).join('');
      assert.equal(text, `x ${visible(v).replace(/\n+/g, ' ')} y`);
    }
  });

  it('a fenced block holds exactly the text, even with fences inside it', () => {
    const text = ['```', '````', '</details>', ...HOSTILE, '~~~', '```````'].join('\n');
    const doc = parse(mdFence(text, 'diff') + '\n\nafter');
    const nodes = walk(doc);
    const blocks = nodes.filter((n) => n.type === 'code_block');
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].literal, visible(text) + '\n');
    assert.equal(blocks[0].info, 'diff');
    assert.deepEqual(nodes.map((n) => n.type), ['document', 'code_block', 'paragraph', 'text']);
  });

  it('text inside raw HTML has no markup characters left', () => {
    for (const v of HOSTILE) assert.doesNotMatch(htmlText(v), /[<>"'`\n]|&(?!#\d+;)/, JSON.stringify(v));
  });

  it('text and markdown plans escape file content, ids and messages; markdown keeps its structure', () => {
    const payload = '\u001b[2K\u001b[1A\u001b[2K  No changes. Live state matches the manifests.\n```\n<img src=x onerror=alert(1)>\n';
    const plan = makePlan({
      errored: [{ target: 'schule-a/Server/x', message: 'host said \u001b]0;owned\u0007 \u202eoops' }],
      changes: [
        {
          address: 'schule-a/File/motd',
          resource: 'schule-a/File/motd',
          kind: 'File',
          target: 'schule-a/Server/server',
          id: '/etc/mo`td\u202e',
          actions: ['update'],
          before: { content: payload },
          after: { content: 'hello\n' },
          diff: [
            { path: '/content', before: payload, after: 'hello\n' },
            { path: '/owner', before: 'r\u001b[8moot', after: 'root' },
          ],
          liveFingerprint: 'sha256:x',
          dependsOn: [],
        },
      ],
    });
    const text = renderText(plan, { color: true });
    const withoutColours = text.replace(/\u001b\[[0-9;]*m/g, '');
    assert.equal(RAW.test(withoutColours), false, 'the only escape sequences are the colours');
    assert.doesNotMatch(text, /\u001b\[(2K|1A|8m)|\u001b\]/);
    assert.match(text, /\\x1b\[2K\\x1b\[1A/);
    assert.match(text, /\\u202eoops/);
    const md = renderMarkdown(plan);
    assert.equal(RAW.test(md), false);
    const nodes = walk(parse(md));
    for (const n of nodes) if (n.type === 'html_block' || n.type === 'html_inline') assert.doesNotMatch(n.literal ?? '', /onerror|<img/, 'no HTML from the values');
    const fenced = nodes.filter((n) => n.type === 'code_block').map((n) => n.literal).join('');
    assert.match(fenced, /<img src=x onerror=alert\(1\)>/, 'the content is inside the fence');
    assert.ok(nodes.some((n) => n.type === 'code' && n.literal === '/etc/mo`td\\u202e'), 'the id is one code span');
  });

  it('diagnostics never print a control character raw', () => {
    const line = formatDiagnostic({ severity: 'error', code: 'E_X', message: 'value "\u001b[2J\u202e" is bad', pos: { file: 'a\u001b.yaml', line: 1, col: 2 } });
    assert.equal(line, 'a\\x1b.yaml:1:2: error E_X: value "\\x1b[2J\\u202e" is bad');
  });
});

describe('rendering through the CLI: a crafted file content on a lab host', function () {
  this.timeout(60_000);
  let lab: LabServer;
  const LIVE = 'harmless\n\u001b[2K\u001b[1A\u001b[2K\u001b[1A\u001b[2K  No changes. Live state matches the manifests.\n\u202egnp.exe\n```\n';
  before(async () => {
    lab = await startLabServer({ manifests: 'apiVersion: einklang/v1\nkind: File\nmetadata: { name: motd }\nspec: { server: server, path: /etc/motd, content: "Willkommen \\e[31m \\u202e\\n" }\n' });
    lab.sim.model.writeFile('/etc/motd', LIVE);
  });
  after(async () => {
    await lab?.sim.stop();
    if (lab) rmSync(lab.root, { recursive: true, force: true });
  });

  it('plan and show print ESC and bidi characters escaped in every format', async () => {
    for (const format of ['text', 'markdown', 'json']) {
      const r = await runCli(['plan', lab.env, '--format', format, '--out', lab.planFile], { cwd: lab.root });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(RAW.test(r.stdout + r.stderr), false, `${format}: no raw control character`);
      if (format !== 'json') {
        assert.match(r.stdout, /\\x1b\[2K\\x1b\[1A/, format);
        assert.match(r.stdout, /\\u202egnp\.exe/, format);
      } else assert.equal(JSON.parse(r.stdout).changes[0].before.content, LIVE, 'json keeps the exact value');
      const shown = await runCli(['show', lab.planFile, '--format', format], { cwd: lab.root });
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(RAW.test(shown.stdout + shown.stderr), false, `show ${format}: no raw control character`);
    }
    // The plan file itself keeps the bytes (it is data, not a display).
    assert.equal(JSON.parse(readFileSync(lab.planFile, 'utf8')).changes[0].before.content, LIVE);
  });

  it('a diagnostic about a hostile manifest value is printed escaped', async () => {
    const bad = join(lab.env, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: einklang/v1\nkind: File\nmetadata: { name: "x\\e[2Jy" }\nspec: { server: server, path: /etc/x, content: "" }\n');
    try {
      const r = await runCli(['validate', lab.env], { cwd: lab.root });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /bad\.yaml:3:\d+: error/);
      assert.equal(RAW.test(r.stdout + r.stderr), false);
    } finally {
      rmSync(bad);
    }
  });
});
