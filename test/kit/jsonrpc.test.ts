/**
 * JSON-RPC 1.0 and 2.0 against the simulated opsi-style /rpc: results,
 * errors inside HTTP 200 with their class, batches answered out of order,
 * 401 (wrong password) and 403 (client blocked after failed logins), and the
 * request envelope compared with the opsi manual's own example (corpus).
 */
import assert from 'node:assert/strict';
import { basicAuth } from '../../providers/kit/auth.js';
import { JsonRpcClient, JsonRpcError } from '../../providers/kit/jsonrpc.js';
import { corpusJson } from '../support/shared.js';
import { isCode } from './is-code.js';
import { BASIC_PASSWORD, BASIC_USER, useTestApi, type TestApi } from './test-api.js';

describe('kit: JSON-RPC', function () {
  this.timeout(10_000);
  const t = useTestApi();
  let api: TestApi;
  beforeEach(() => {
    api = t.api;
    api.rpcFailures = 0;
  });

  function rpc(version: '1.0' | '2.0', password = BASIC_PASSWORD, isIdempotent?: (m: string) => boolean): JsonRpcClient {
    const http = t.client({ auth: basicAuth(BASIC_USER, password), timeoutMs: 100 });
    return new JsonRpcClient(http, { version, isIdempotent });
  }

  for (const version of ['1.0', '2.0'] as const) {
    describe(`version ${version}`, () => {
      it('returns results', async () => {
        const hosts = await rpc(version).call<{ id: string }[]>('host_getObjects', [[], { type: 'OpsiClient' }]);
        assert.equal(hosts[0].id, 'pc-001.gs-nord.schule.local');
        assert.equal(await rpc(version).call('setProductActionRequest', ['firefox', 'pc-001.gs-nord.schule.local', 'setup']), null);
      });

      it('maps an error inside HTTP 200 to E_RPC naming method, class and message', async () => {
        await assert.rejects(rpc(version).call('setProductActionRequest', ['nosuch', 'pc-001.gs-nord.schule.local', 'setup']), (e: Error) => {
          isCode('E_RPC', /^JSON-RPC setProductActionRequest failed: BackendMissingDataError: Product 'nosuch' not found on depot 'depot\.local'$/)(e);
          assert.ok(e instanceof JsonRpcError);
          assert.equal(e.errorClass, 'BackendMissingDataError');
          assert.equal(e.method, 'setProductActionRequest');
          return true;
        });
        await assert.rejects(rpc(version).call('no_such_method'), isCode('E_RPC', /no_such_method failed: ValueError: Invalid method 'no_such_method'/));
      });

      it('sends a batch as one request and matches answers by id', async () => {
        const out = await rpc(version).batch([
          { method: 'echo', params: [1] },
          { method: 'setProductActionRequest', params: ['nosuch', 'pc', 'setup'] },
          { method: 'echo', params: [3] },
        ]);
        assert.equal(api.sim.log.length, 1);
        assert.deepEqual(out[0], { ok: true, result: [1] });
        assert.ok(!out[1].ok && out[1].error.errorClass === 'BackendMissingDataError');
        assert.deepEqual(out[2], { ok: true, result: [3] });
        await assert.rejects(
          rpc(version).batchResults([
            { method: 'echo', params: [1] },
            { method: 'nope' },
          ]),
          isCode('E_RPC', /nope failed: ValueError/),
        );
      });

      it('takes the bare answer object opsiconfd sends for a batch of one call', async () => {
        assert.deepEqual(await rpc(version).batch([{ method: 'echo', params: [7] }]), [{ ok: true, result: [7] }]);
        assert.ok(!Array.isArray(api.lastRpcBody) || (api.lastRpcBody as unknown[]).length === 1, 'sent as a batch of one');
        const [failed] = await rpc(version).batch([{ method: 'nope' }]);
        assert.ok(!failed.ok && failed.error.errorClass === 'ValueError', 'an error answer of a batch of one belongs to its call');
      });
    });
  }

  it('writes requests in the envelope the opsi manual shows (corpus rpc_request_jsonrpc2_curl)', async () => {
    const doc = corpusJson('opsi', 'docs', 'rpc_request_jsonrpc2_curl.json').request;
    await rpc('2.0').call('host_getObjects', [[], { type: 'OpsiClient' }]);
    const sent = api.lastRpcBody as Record<string, unknown>;
    assert.deepEqual(Object.keys(sent).sort(), Object.keys(doc.body).sort());
    assert.deepEqual(sent.params, doc.body.params);
    assert.equal(sent.jsonrpc, '2.0');
    assert.equal(api.sim.log[0].path, doc.path);
    await rpc('1.0').call('host_getObjects', [[], { type: 'OpsiClient' }]);
    assert.ok(!('jsonrpc' in (api.lastRpcBody as object)), '1.0 envelopes carry no jsonrpc member');
  });

  it('maps HTTP 401 to E_AUTH and, after the brute-force block, 403 to E_FORBIDDEN; the password never shows', async () => {
    const wrong = 'not-the-password';
    for (let i = 0; i < api.rpcMaxFailures; i++) {
      await assert.rejects(rpc('1.0', wrong).call('host_getObjects'), (e: Error) => {
        isCode('E_AUTH', /^JSON-RPC host_getObjects: POST \/rpc: credentials rejected \(HTTP 401: Authentication error\)/)(e);
        return !e.message.includes(wrong);
      });
    }
    await assert.rejects(rpc('1.0').call('host_getObjects'), isCode('E_FORBIDDEN', /HTTP 403: Client blocked.*blocks this client/));
  });

  it('retries only calls declared idempotent after a timeout', async () => {
    const reads = (m: string) => /_get/.test(m);
    api.sim.faults.add({ kind: 'latency', ms: 250 });
    assert.equal((await rpc('2.0', BASIC_PASSWORD, reads).call<unknown[]>('host_getObjects')).length, 1);
    api.sim.faults.add({ kind: 'latency', ms: 250 });
    await assert.rejects(rpc('2.0', BASIC_PASSWORD, reads).call('setProductActionRequest', ['firefox', 'pc', 'setup']), isCode('E_TIMEOUT'));
    assert.equal(api.sim.log.length, 3, 'the read twice (timeout, retry), the write once');
  });
});
