/**
 * Editor schemas (issue 15 item 6): the generated document schemas are what
 * tools/generate-schemas.ts writes from schemas/<area>/<Kind>.schema.json and
 * the kind registry; what `validate` requires they require; and the YAML
 * language server (the npm package editors run, driven headless over LSP)
 * accepts every demo file and flags typos where they are.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { schemasDir } from '../../engine/paths.js';
import { loadWorkspace } from '../../engine/workspace.js';
import { defaultCatalog } from '../../cli/catalog.js';

const kindDefs = defaultCatalog().kinds;
import { DOCUMENTS_DIR, generatedSchemas } from '../../tools/generate-schemas.js';
import { writeTree } from '../support/cli.js';
import { YamlLanguageServer, type LspDiagnostic } from '../support/yaml-language-server.js';

const addFormats = createRequire(import.meta.url)('ajv-formats') as (a: Ajv) => void;
const DEMO = resolve('environments/demo-city');
const MANIFEST = join(schemasDir, 'manifest.json');
const PROFILE_MANIFEST = join(schemasDir, 'profile-manifest.json');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function schemaValidator(file: string) {
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  addFormats(ajv);
  const { $schema: _s, ...schema } = JSON.parse(readFileSync(file, 'utf8'));
  return ajv.compile(schema);
}

/** 1-based line and column of the first occurrence of `needle` in a file. */
function whereIs(text: string, needle: string): [number, number] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in the file`);
  return [i + 1, lines[i].indexOf(needle) + 1];
}

const at = (d: LspDiagnostic): [number, number] => [d.range.start.line + 1, d.range.start.character + 1];

describe('schemas: generated document schemas', () => {
  it('are exactly what the generator writes (run `npm run schemas` after changing a spec schema or adding a kind)', () => {
    const generated = generatedSchemas();
    for (const [rel, content] of generated) {
      assert.equal(readFileSync(join(schemasDir, rel), 'utf8'), content, `schemas/${rel} is stale: run npm run schemas`);
    }
    const committed = readdirSync(join(schemasDir, DOCUMENTS_DIR)).map((f) => `${DOCUMENTS_DIR}/${f}`);
    assert.deepEqual(committed.sort(), [...generated.keys()].filter((k) => k.startsWith(`${DOCUMENTS_DIR}/`)).sort(), 'schemas/documents has files the generator does not write');
  });

  it('cover every registered kind, with the spec schema of schemas/<area>/ as spec: the registry alone decides, the generator needs no edit for a new kind', () => {
    const docs = [...generatedSchemas().keys()].filter((k) => k.startsWith(`${DOCUMENTS_DIR}/`));
    assert.deepEqual(docs.sort(), kindDefs.map((d) => `${DOCUMENTS_DIR}/${d.kind}.json`).sort());
    const combined = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    const profile = JSON.parse(readFileSync(PROFILE_MANIFEST, 'utf8'));
    for (const def of kindDefs) {
      const doc = JSON.parse(readFileSync(join(schemasDir, DOCUMENTS_DIR, `${def.kind}.json`), 'utf8'));
      const { $schema: _s, $id: _i, ...spec } = JSON.parse(readFileSync(join(schemasDir, def.schema), 'utf8'));
      assert.deepEqual(doc.properties.spec, spec, def.kind);
      assert.deepEqual(doc.properties.kind, { enum: [def.kind] });
      if (def.kind !== 'Profile') assert.ok(combined.properties.kind.enum.includes(def.kind), `${def.kind} in manifest.json`);
      if (def.kind !== 'Environment') assert.ok(profile.properties.kind.enum.includes(def.kind), `${def.kind} in profile-manifest.json`);
    }
  });

  it('accept every document of the demo, as einklang validate does', async () => {
    const environment = schemaValidator(MANIFEST);
    const inProfile = schemaValidator(PROFILE_MANIFEST);
    let count = 0;
    for (const file of yamlFiles(DEMO)) {
      const validate = file.includes('/profiles/') ? inProfile : environment;
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        count++;
        assert.ok(validate(doc.toJS()), `${relative(DEMO, file)}: ${JSON.stringify(validate.errors)}`);
      }
    }
    assert.ok(count > 30, `only ${count} documents`);
    assert.deepEqual((await loadWorkspace(defaultCatalog(), [DEMO])).diagnostics.filter((d) => d.severity === 'error'), []);
  });

  it('require what validate requires: a pinned host key, the winrm credentials, registry type and data, the envelope', async () => {
    const validate = schemaValidator(MANIFEST);
    const env = 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-x }\nspec: { zone: administration }\n';
    const cases: Record<string, string> = {
      'ssh-without-host-key': 'kind: Server\nmetadata: { name: web-01 }\nspec: { os: linux, connection: { driver: ssh, host: 127.0.0.1, user: root, privateKeyFile: k } }\n',
      'ssh-on-windows': 'kind: Server\nmetadata: { name: web-02 }\nspec: { os: windows, connection: { driver: ssh, host: 127.0.0.1, user: root, privateKeyFile: k, hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n',
      'winrm-without-password': 'kind: Server\nmetadata: { name: win-01 }\nspec: { os: windows, connection: { driver: winrm, host: 127.0.0.1, user: admin } }\n',
      'registry-without-data': 'kind: RegistryValue\nmetadata: { name: reg }\nspec: { server: win-01, path: "HKLM:\\\\SOFTWARE\\\\X", name: v, type: String }\n',
      'bad-name': 'kind: Vlan\nmetadata: { name: Schueler }\nspec: { id: 20, name: S, switches: [core-01] }\n',
      'unknown-top-level': 'kind: Vlan\nmetadata: { name: v }\nspec: { id: 20, name: S, switches: [core-01] }\nstatus: {}\n',
      'wrong-api-version': 'apiVersion: einklang/v2\nkind: Vlan\nmetadata: { name: v2 }\nspec: { id: 21, name: S, switches: [core-01] }\n',
    };
    const root = writeTree({ 'env/environment.yaml': env, ...Object.fromEntries(Object.entries(cases).map(([n, t]) => [`env/${n}.yaml`, t])) });
    try {
      const errorFiles = new Set((await loadWorkspace(defaultCatalog(), [join(root, 'env')])).diagnostics.filter((d) => d.severity === 'error').map((d) => relative(join(root, 'env'), d.pos!.file)));
      for (const [name, text] of Object.entries(cases)) {
        assert.ok(errorFiles.has(`${name}.yaml`), `validate accepts ${name}`);
        assert.equal(validate(parseAllDocuments(text)[0].toJS()), false, `the schema accepts ${name}`);
      }
      const missing = (text: string) => (validate(parseAllDocuments(text)[0].toJS()), validate.errors!.filter((e) => e.keyword === 'required').map((e) => (e.params as { missingProperty: string }).missingProperty));
      assert.ok(missing(cases['ssh-without-host-key']).includes('hostKeyFingerprint'));
      assert.ok(missing(cases['winrm-without-password']).includes('password'));
      assert.ok(missing(cases['registry-without-data']).includes('data'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('schemas: the YAML language server, headless', function () {
  this.timeout(120_000);
  let server: YamlLanguageServer;
  before(async () => {
    server = await YamlLanguageServer.start(resolve('.'));
  });
  after(async () => {
    await server?.stop();
  });

  it('finds no problem in any demo file, each of whose documents names the schema in a yaml-language-server line', async () => {
    for (const file of yamlFiles(DEMO)) {
      const expected = relative(resolve(file, '..'), file.includes('/profiles/') ? PROFILE_MANIFEST : MANIFEST);
      const text = readFileSync(file, 'utf8');
      // The language server reads the line per document (redhat-developer/yaml-language-server#946), so each carries it.
      const docs = text.split(/^---$/m);
      for (const [i, doc] of docs.entries()) assert.match(doc, new RegExp(`^\\n?# yaml-language-server: \\$schema=${expected.replace(/\./g, '\\.')}\\n`), `${relative(DEMO, file)} document ${i + 1}`);
      assert.deepEqual(await server.diagnostics(file), [], relative(DEMO, file));
    }
  });

  it('flags typos where they are: kind, metadata, spec fields, enum values, a missing host key, a profile value', async () => {
    const manifestText = `# yaml-language-server: $schema=${MANIFEST}
apiVersion: einklang/v1
kind: Vlna
metadata: { name: students }
spec: { id: 20, name: SCHUELER, switches: [core-01] }
---
# yaml-language-server: $schema=${MANIFEST}
apiVersion: einklang/v1
kind: SwitchPort
metadata:
  name: classroom-ports
  lables: { floor: "2" }
spec:
  switch: core-01
  ports: "Gi1/0/1-24"
  mode: acess
  vlan: students
  descripton: Klassenraum
---
# yaml-language-server: $schema=${MANIFEST}
apiVersion: einklang/v1
kind: Server
metadata: { name: web-01 }
spec:
  os: linux
  connection:
    driver: ssh
    host: 127.0.0.1
    user: root
    privateKeyFile: keys/id_ed25519
`;
    const profileText = `# yaml-language-server: $schema=${PROFILE_MANIFEST}
apiVersion: einklang/v1
kind: Switch
metadata: { name: core-01 }
spec:
  connection:
    driver: ios
    host: 127.0.0.1
    port: \${param:corePort}
    user: admin
    password: "\${secret:SWITCH_PASSWORD}"
    hostKeyFingerprint: \${param:coreHostKey}
  prune: yes-please
`;
    const root = writeTree({ 'typos/vlans.yaml': manifestText, 'typos/profile/switches.yaml': profileText });
    try {
      const found = await server.diagnostics(join(root, 'typos/vlans.yaml'));
      const expected: [number, number, RegExp][] = [
        [...whereIs(manifestText, 'Vlna'), /Value is not accepted\. Valid values: .*"Vlan"/],
        [...whereIs(manifestText, 'lables'), /Property lables is not allowed/],
        [...whereIs(manifestText, 'acess'), /Value is not accepted\. Valid values: "access", "trunk"/],
        [...whereIs(manifestText, 'descripton'), /Property descripton is not allowed/],
        [...whereIs(manifestText, 'connection:'), /Missing property "hostKeyFingerprint"/],
      ];
      assert.equal(found.length, expected.length, JSON.stringify(found.map((d) => [at(d), d.message])));
      for (const [line, col, message] of expected) {
        assert.ok(
          found.some((d) => at(d)[0] === line && at(d)[1] === col && message.test(d.message)),
          `nothing like ${message} at ${line}:${col} in ${JSON.stringify(found.map((d) => [at(d), d.message]))}`,
        );
      }
      // ${param:...} placeholders are fine in a profile; a wrong value next to them is not
      const inProfile = await server.diagnostics(join(root, 'typos/profile/switches.yaml'));
      assert.deepEqual(inProfile.map(at), [whereIs(profileText, 'yes-please')], JSON.stringify(inProfile));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
