/**
 * DESIGN.md pins the Server/File/User and Switch/Vlan/SwitchPort examples
 * "so that tests from outside can rely on them": they must validate as
 * written. Read from the shared folder (test/support/shared.ts) at test time, never copied into the project.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, writeTree } from '../support/cli.js';
import { SHARED } from '../support/shared.js';

const DESIGN = join(SHARED, 'DESIGN.md');

describe('DESIGN.md examples', function () {
  this.timeout(30_000);

  it('validate as written (with a reference fingerprint and the key file they name)', async function () {
    if (!existsSync(DESIGN)) {
      if (process.env.CI === 'true') throw new Error(`${DESIGN} is missing`);
      this.skip();
    }
    const blocks = [...readFileSync(DESIGN, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /^kind: (Server|Switch)$/m.test(b));
    assert.equal(blocks.length, 2, 'the server and the network example');
    const fp = 'SHA256:' + 'A'.repeat(43);
    const files: Record<string, string> = { 'envs/demo/environment.yaml': 'kind: Environment\nmetadata: { name: demo }\nspec: { zone: school }\n', 'envs/demo/keys/id_ed25519': '' };
    blocks.forEach((b, i) => (files[`envs/demo/example-${i}.yaml`] = b.replace(/"SHA256:\.\.\."/g, `"${fp}"`)));
    const root = writeTree(files);
    const r = await runCli(['validate', join(root, 'envs/demo')], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid: 1 environment\(s\), 7 resource\(s\)/);
  });
});
