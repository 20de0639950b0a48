/** Unit tests of pure engine logic: loading with positions, profiles, diff normalisation, graph, renderers. */
import assert from 'node:assert/strict';
import { firstInvalidUtf8, loadText, positionOf } from '../../engine/load.js';
import { diffObject } from '../../engine/diff.js';
import { Graph } from '../../engine/graph.js';
import { renderMarkdown, MAX_MARKDOWN } from '../../engine/render/markdown.js';
import { renderText } from '../../engine/render/text.js';
import { computePlanHash } from '../../engine/plan-file.js';
import { linkChanges } from '../../engine/plan.js';
import type { Change, KindDef, Plan } from '../../engine/types.js';

describe('load', () => {
  it('maps values to 1-based line:col', () => {
    const r = loadText('apiVersion: einklang/v1\nkind: File\nmetadata:\n  name: x\nspec:\n  path: /etc/x\n  groups: [a, b]\n', 'f.yaml', '.');
    assert.equal(r.diagnostics.length, 0);
    const d = r.documents[0];
    assert.deepEqual(positionOf(d, '/spec/path'), { file: 'f.yaml', line: 6, col: 9 });
    assert.deepEqual(positionOf(d, '/spec/groups/1'), { file: 'f.yaml', line: 7, col: 15 });
    // A pointer with no value of its own falls back to its nearest ancestor.
    assert.deepEqual(positionOf(d, '/spec/missing/deeper'), positionOf(d, '/spec'));
  });

  it('collects errors of every document instead of stopping at the first', () => {
    const r = loadText('a: [1\n---\nb: ok\n---\nc: "unclosed\n', 'f.yaml', '.');
    assert.equal(r.documents.length, 1);
    assert.ok(r.diagnostics.length >= 2);
    assert.ok(r.diagnostics.every((d) => d.pos && d.pos.line >= 1));
  });

  it('refuses alias bombs before expanding them', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(',')}]`);
    const r = loadText(lines.join('\n') + '\n', 'bomb.yaml', '.');
    assert.equal(r.documents.length, 0);
    assert.equal(r.diagnostics[0].code, 'E_YAML_ALIASES');
  });

  it('finds the first invalid UTF-8 byte', () => {
    assert.equal(firstInvalidUtf8(Buffer.from('grüße 😀', 'utf8')), -1);
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xc3])), 2); // truncated sequence
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf])), 1); // overlong
    assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0); // surrogate
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xff])), 1);
  });
});

describe('diff', () => {
  const def: KindDef = { kind: 'T', area: 't', schema: '', normalize: (s) => ({ ...s, mode: s.mode === undefined ? undefined : String(s.mode).padStart(4, '0') }), replaceOn: ['uid'] };
  it('compares only managed fields, after normalisation', () => {
    assert.deepEqual(diffObject(def, { mode: '644' }, { mode: '0644', owner: 'root' }).actions, []);
    assert.deepEqual(diffObject(def, { mode: '600' }, { mode: '0644' }).diff, [{ path: '/mode', before: '0644', after: '0600' }]);
  });
  it('plans create, delete and replace', () => {
    assert.deepEqual(diffObject(def, { mode: '644' }, null).actions, ['create']);
    assert.deepEqual(diffObject(def, null, { mode: '0644' }).actions, ['delete']);
    assert.deepEqual(diffObject(def, null, null).actions, []);
    assert.deepEqual(diffObject(def, { uid: 2 }, { uid: 1 }).actions, ['delete', 'create']);
  });
});

describe('graph', () => {
  it('orders dependencies first and finds cycles', () => {
    const g = new Graph();
    g.addEdge('file', 'dir');
    g.addEdge('dir', 'user');
    assert.deepEqual(g.order(), ['user', 'dir', 'file']);
    assert.deepEqual([...g.dependents('user')].sort(), ['dir', 'file']);
    g.addEdge('user', 'file');
    assert.equal(g.cycles().length, 1);
    assert.throws(() => g.order());
  });
});

function change(address: string, actions: Change['actions'], content?: string): Change {
  return { address, resource: address, kind: 'File', target: 'env/Server/s' + (address.length % 7), id: '/x/' + address, actions, before: null, after: { content }, diff: content ? [{ path: '/content', before: undefined, after: content }] : [], liveFingerprint: 'sha256:0', dependsOn: [] };
}

function plan(changes: Change[]): Plan {
  const p = {
    formatVersion: 1, engineVersion: '0', createdAt: '', source: { gitRevision: null, dirty: false, manifestsHash: '', paths: [] }, zone: 'school' as const,
    environments: ['env'], author: null, summary: { create: changes.length, update: 0, delete: 0, replace: 0, noop: 0, unmanaged: 0 }, applyable: true, complete: true,
    errored: [], changes, unmanaged: [], warnings: [], policy: [], approvalsRequired: { count: 0, groups: [] }, approvals: [], hash: '',
  };
  p.hash = computePlanHash(p);
  return p;
}

describe('renderers', () => {
  it('keeps markdown under 60,000 characters for any plan and says what it left out', () => {
    const big = plan(Array.from({ length: 5000 }, (_, i) => change(`env/File/f${i}`, ['create'], 'line\n'.repeat(40))));
    const md = renderMarkdown(big, { jsonHint: 'plan.json' });
    assert.ok(md.length <= MAX_MARKDOWN, `length ${md.length}`);
    assert.match(md, /^### einklang plan/);
    assert.match(md, /\| create \| 5000 \|/);
    assert.match(md, /changes are not shown here/);
    assert.match(md, /plan\\\.json/, 'names the JSON plan (its dot markdown-escaped)');
    assert.ok(md.indexOf('| create |') < md.indexOf('<details>'), 'summary table first');
  });

  it('escapes hostile text in markdown fences and tables', () => {
    const p = plan([change('env/File/evil', ['create'], '```\n</details><script>x</script>\n')]);
    const md = renderMarkdown(p);
    const fences = md.match(/^`{4,}diff$/m);
    assert.ok(fences, 'content with ``` is fenced with a longer fence');
  });

  it('shows a unified diff for text content and redacts sensitive fields', () => {
    const c = change('env/File/a', ['update']);
    c.diff = [
      { path: '/content', before: 'one\ntwo\n', after: 'one\nthree\n' },
      { path: '/password', before: '<sensitive>', after: '<secret:DB>', sensitive: true },
    ];
    const t = renderText(plan([c]));
    assert.match(t, /-two/);
    assert.match(t, /\+three/);
    assert.match(t, /password: \(sensitive value changes: "<secret:DB>"\)/);
  });
});

describe('change dependencies', () => {
  it('runs creates after their dependencies and deletes before what they depend on', () => {
    const dir = change('dir', ['create']);
    const file = change('file', ['create']);
    const oldUser = change('user', ['delete']);
    const oldFile = change('oldfile', ['delete']);
    const deps: Record<string, string[]> = { file: ['dir'], oldfile: ['user'] };
    linkChanges([dir, file, oldUser, oldFile], (r) => deps[r] ?? []);
    assert.deepEqual(file.dependsOn, ['dir']);
    assert.deepEqual(oldUser.dependsOn, ['oldfile'], 'the user goes after the file that belongs to it');
    assert.deepEqual(oldFile.dependsOn, []);
  });

  it('links a dependency on a multi-target resource per target', () => {
    const mk = (resource: string, target: string, actions: Change['actions'] = ['create']): Change => ({ ...change(resource, actions), address: `${resource}[${target}]`, resource, target });
    const vlanA = mk('env/Vlan/students', 'sw-a');
    const vlanB = mk('env/Vlan/students', 'sw-b');
    const portA = mk('env/SwitchPort/p', 'sw-a');
    const portC = mk('env/SwitchPort/q', 'sw-c');
    const targets: Record<string, Set<string>> = { 'env/Vlan/students': new Set(['sw-a', 'sw-b', 'sw-c']) };
    linkChanges([vlanA, vlanB, portA, portC], (r) => (r.startsWith('env/SwitchPort') ? ['env/Vlan/students'] : []), (r) => targets[r]);
    assert.deepEqual(portA.dependsOn, ['env/Vlan/students[sw-a]'], 'only the VLAN on its own switch');
    assert.deepEqual(portC.dependsOn, [], 'the VLAN is already in place on sw-c');
  });
});
