/**
 * The WinRM client and simulator against real WinRM traffic (pywinrm's test
 * data in the shared corpus's winrm/ (test/support/shared.ts), read at test time, never copied):
 * - the client parses every *_response.xml;
 * - the simulator answers requests like the *_request.xml files with
 *   responses of the same structure (elements, namespaces, attributes;
 *   values aside).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXml, realAttrs, type XmlElement } from '../../providers/servers/winrm/xml.js';
import { clixmlToText, parseCommandId, parseReceive, parseShellId, responseBody, NS, WsmanFault } from '../../providers/servers/winrm/wsman.js';
import { WinrmSimulator } from '../../providers/servers/winrm/simulator/server.js';
import { corpusPath } from '../support/shared.js';

const CORPUS = corpusPath('winrm');
const read = (f: string) => readFileSync(join(CORPUS, f), 'utf8');

/** Structure of an element: name, namespace, attribute names; runs of equal siblings collapse to one. */
export function structure(el: XmlElement): unknown {
  const children: unknown[] = [];
  for (const c of el.children) {
    const s = structure(c);
    if (!children.length || JSON.stringify(children[children.length - 1]) !== JSON.stringify(s)) children.push(s);
  }
  return {
    el: `{${el.ns}}${el.local}`,
    attrs: realAttrs(el)
      .map((a) => `{${a.ns}}${a.local}`)
      .sort(),
    children,
  };
}

describe('winrm corpus (real WinRM sessions)', function () {
  before(function () {
    assert.ok(existsSync(CORPUS), `corpus not found at ${CORPUS} (set EINKLANG_SHARED)`);
  });

  describe('the client parses every *_response.xml', () => {
    const files = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => f.endsWith('_response.xml')).sort() : [];
    it('finds the response files', () => assert.ok(files.length >= 8, `only ${files.length} response files`));
    for (const f of files) {
      it(f, () => {
        const body = responseBody(parseXml(read(f)));
        assert.equal(body.ns, NS.s);
        if (f.startsWith('open_shell')) assert.equal(parseShellId(body), '11111111-1111-1111-1111-111111111113');
        if (f === 'run_cmd_ps_response.xml' || f === 'run_cmd_req_input_response.xml') assert.match(parseCommandId(body), /^11111111-/);
        if (f === 'get_cmd_output_response.xml') {
          const r = parseReceive(body);
          assert.equal(r.done, true);
          assert.equal(r.exitCode, 0);
          assert.match(Buffer.concat(r.stdout).toString('utf8'), /Windows IP Configuration/);
        }
        if (f === 'run_cmd_send_input_get_output_response.xml') {
          const r = parseReceive(body);
          assert.equal(r.done, true);
          assert.match(Buffer.concat(r.stdout).toString('utf8'), /hello world/);
        }
        if (f === 'get_ps_output_response.xml') {
          const r = parseReceive(body);
          assert.equal(r.exitCode, 1);
          assert.deepEqual(r.stdout, []);
          const text = clixmlToText(Buffer.concat(r.stderr).toString('utf8'));
          assert.match(text, /^Write-Error "Error" : Error\n/);
          assert.match(text, /FullyQualifiedErrorId : Microsoft\.PowerShell\.Commands\.WriteErrorExceptio/);
        }
      });
    }
  });

  describe('the simulator answers like Windows', () => {
    let sim: WinrmSimulator;
    let shellId = '';
    let commandId = '';

    before(async () => {
      // the corpus is plain SOAP with Basic auth: a host configured for that (as pywinrm's test host was)
      sim = new WinrmSimulator({ port: 0, https: false, user: 'vagrant', password: 'vagrant', hostname: 'windows-host', service: { basic: true, allowUnencrypted: true } });
      await sim.start();
    });
    after(() => sim.stop());

    function post(xml: string): Promise<{ status: number; body: string }> {
      return new Promise((res, rej) => {
        const req = http.request(
          { host: '127.0.0.1', port: sim.port, path: '/wsman', method: 'POST', headers: { Authorization: 'Basic ' + Buffer.from('vagrant:vagrant').toString('base64'), 'Content-Type': 'application/soap+xml;charset=UTF-8' } },
          (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c) => chunks.push(c));
            r.on('end', () => res({ status: r.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
          },
        );
        req.on('error', rej);
        req.end(xml);
      });
    }

    /** A corpus request with the ids of this session filled in. */
    function request(file: string): string {
      return read(file)
        .replace(/11111111-1111-1111-1111-111111111113/g, shellId)
        .replace(/(CommandId=")[^"]*"/g, `$1${commandId}"`);
    }

    async function compare(requestFile: string, responseFiles: string[]): Promise<XmlElement> {
      const r = await post(request(requestFile));
      assert.equal(r.status, 200, r.body);
      const got = parseXml(r.body);
      for (const f of responseFiles) assert.deepEqual(structure(got), structure(parseXml(read(f))), `${requestFile} vs ${f}`);
      return got;
    }

    it('open_shell_request -> open_shell_response', async () => {
      const env = await compare('open_shell_request.xml', ['open_shell_response.xml']);
      shellId = parseShellId(responseBody(env));
      assert.ok(sim.shells.has(shellId));
    });

    for (const f of ['run_cmd_with_args_request.xml', 'run_ps_request.xml', 'run_cmd_req_input.xml', 'run_cmd_wo_args_request.xml']) {
      it(`${f} -> run_cmd_ps_response / run_cmd_req_input_response`, async () => {
        const env = await compare(f, ['run_cmd_ps_response.xml', 'run_cmd_req_input_response.xml']);
        commandId = parseCommandId(responseBody(env)); // the last one is `hostname`
      });
    }

    it('run_cmd_send_input -> run_cmd_send_input_response', async () => {
      await compare('run_cmd_send_input.xml', ['run_cmd_send_input_response.xml']);
    });

    it('get_cmd_ps_output_request / run_cmd_send_input_get_output -> the Receive responses', async () => {
      const env = await compare('get_cmd_ps_output_request.xml', ['get_cmd_output_response.xml', 'run_cmd_send_input_get_output_response.xml', 'get_ps_output_response.xml']);
      const r = parseReceive(responseBody(env));
      assert.equal(Buffer.concat(r.stdout).toString(), 'WINDOWS-HOST\r\n');
      assert.equal(r.exitCode, 0);
    });

    it('cleanup_cmd_request / stdin_cmd_cleanup -> the Signal responses', async () => {
      await compare('cleanup_cmd_request.xml', ['cleanup_cmd_response.xml', 'stdin_cmd_cleanup_response.xml']);
      await compare('stdin_cmd_cleanup.xml', ['cleanup_cmd_response.xml', 'stdin_cmd_cleanup_response.xml']);
    });

    it('refuses commands that are not the driver scripts with a SOAP fault', async () => {
      // the ipconfig command of run_cmd_with_args_request
      const cmd = await post(request('run_cmd_with_args_request.xml'));
      commandId = parseCommandId(responseBody(parseXml(cmd.body)));
      const r = await post(request('get_cmd_ps_output_request.xml'));
      assert.equal(r.status, 500);
      assert.throws(() => responseBody(parseXml(r.body)), (e: WsmanFault) => e instanceof WsmanFault && e.subcode === 'w:InternalError' && /refused/.test(e.message));
    });

    it('close_shell_request -> close_shell_response, then the shell is unknown (SOAP fault)', async () => {
      await compare('close_shell_request.xml', ['close_shell_response.xml']);
      assert.ok(!sim.shells.has(shellId));
      const r = await post(request('close_shell_request.xml'));
      assert.equal(r.status, 500);
      assert.throws(
        () => responseBody(parseXml(r.body)),
        (e: WsmanFault) => e instanceof WsmanFault && e.subcode === 'w:InvalidSelectors' && e.wsmanCode === 2150858843 && /shell was not found/.test(e.message),
      );
    });

    it('answers bad credentials with 401 and an AccessDenied fault', async () => {
      const r = await new Promise<{ status: number; body: string; www: string[] }>((res, rej) => {
        const req = http.request(
          { host: '127.0.0.1', port: sim.port, path: '/wsman', method: 'POST', headers: { Authorization: 'Basic ' + Buffer.from('vagrant:wrong').toString('base64') } },
          (x) => {
            let b = '';
            x.on('data', (c) => (b += c));
            x.on('end', () => res({ status: x.statusCode!, body: b, www: ([] as string[]).concat(x.headers['www-authenticate'] ?? []) }));
          },
        );
        req.on('error', rej);
        req.end(read('open_shell_request.xml'));
      });
      assert.equal(r.status, 401);
      assert.match(r.www.join(', '), /Basic realm="WSMAN"/);
      assert.match(r.www.join(', '), /Negotiate/);
      assert.throws(() => responseBody(parseXml(r.body)), (e: WsmanFault) => e.subcode === 'w:AccessDenied');
    });
  });
});
