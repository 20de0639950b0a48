/**
 * OAuth2 client credentials against a Graph-shaped token endpoint on ANOTHER
 * simulator (its own port and certificate, as login.microsoftonline.com is
 * another host than graph.microsoft.com): one token per client, renewal
 * before expiry on the client's clock, one renewal after a 401 for an expired
 * token, clear errors for a wrong secret, and no secret in any message.
 */
import assert from 'node:assert/strict';
import { ApiClient } from '../../providers/kit/client.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { clientCredentialsAuth } from '../../providers/kit/oauth2.js';
import { CLIENT_ID, CLIENT_SECRET, TENANT, startTestApi, type TestApi } from './test-api.js';
import { isCode } from './is-code.js';

describe('kit: OAuth2 client credentials', function () {
  this.timeout(10_000);
  let api: TestApi;
  let login: TestApi;
  let clock: VirtualClock;
  const clients: ApiClient[] = [];

  before(async () => {
    api = await startTestApi();
    login = await startTestApi();
    // the login host issues the tokens, the API host accepts them: share the token set
    login.validTokens = api.validTokens;
  });
  after(async () => {
    await api.sim.stop();
    await login.sim.stop();
  });
  beforeEach(() => {
    clock = new VirtualClock();
    api.sim.log.length = 0;
    login.sim.log.length = 0;
    login.tokenLifetimeS = 3599;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  function graph(o: { secret?: string; loginPin?: string; logs?: string[] } = {}) {
    const auth = clientCredentialsAuth({
      tokenUrl: `https://127.0.0.1:${login.sim.port}/${TENANT}/oauth2/v2.0/token`,
      clientId: CLIENT_ID,
      clientSecret: o.secret ?? CLIENT_SECRET,
      scope: 'https://graph.microsoft.com/.default',
      tlsFingerprint: o.loginPin ?? login.sim.fingerprint,
    });
    const c = new ApiClient({ host: '127.0.0.1', port: api.sim.port, tlsFingerprint: api.sim.fingerprint, basePath: '/v1.0', auth, clock, random: () => 0, log: (m) => o.logs?.push(m) });
    clients.push(c);
    return { c, auth };
  }

  it('posts the documented form to the token endpoint on the login host and uses the token as Bearer', async () => {
    const { c, auth } = graph();
    for (let i = 0; i < 3; i++) await c.get('items');
    assert.equal(auth.fetched, 1, 'one token for the client');
    assert.deepEqual(
      login.sim.log.map((e) => `${e.method} ${e.path} ${e.authScheme ?? '-'}`),
      [`POST /${TENANT}/oauth2/v2.0/token -`],
    );
    assert.ok(api.sim.log.every((e) => e.authScheme === 'bearer'));
    assert.equal(api.sim.log.length, 3);
  });

  it('renews the token before it expires on the client clock (no 401 needed)', async () => {
    const { c, auth } = graph();
    await c.get('items');
    clock.advance(3599_000 - 30_000); // inside the 60 s renewal margin
    await c.get('items');
    assert.equal(auth.fetched, 2);
    assert.ok(api.sim.log.every((e) => e.status === 200));
  });

  it('renews once when the API says the token expired (401), then succeeds', async () => {
    const { c, auth } = graph();
    await c.get('items');
    api.validTokens.clear(); // revoked / expired early on the server side
    assert.equal((await c.get('items')).value.length, api.odataPageSize);
    assert.equal(auth.fetched, 2);
    assert.deepEqual(
      api.sim.log.map((e) => e.status),
      [200, 401, 200],
    );
  });

  it('gives E_AUTH after one renewal when the API keeps refusing tokens', async () => {
    const { c, auth } = graph();
    const realAdd = api.validTokens.add.bind(api.validTokens);
    api.validTokens.add = (t: string) => api.validTokens; // the login host issues tokens the API never accepts
    try {
      await assert.rejects(c.get('items'), isCode('E_AUTH', /credentials rejected \(HTTP 401: InvalidAuthenticationToken/));
    } finally {
      api.validTokens.add = realAdd;
    }
    assert.equal(auth.fetched, 2, 'exactly one renewal');
    assert.equal(api.sim.log.length, 2);
  });

  it('shares one token request between concurrent requests', async () => {
    const { c, auth } = graph();
    await Promise.all(Array.from({ length: 5 }, () => c.get('items')));
    assert.equal(auth.fetched, 1);
  });

  it('reports a rejected client secret as E_AUTH without showing the secret (even when the server echoes it)', async () => {
    const wrong = 'Not-The+Secret/42=';
    const logs: string[] = [];
    const { c } = graph({ secret: wrong, logs });
    await assert.rejects(c.get('items'), (e: Error) => {
      isCode('E_AUTH', /OAuth2 token request to https:\/\/127\.0\.0\.1:\d+\/.*rejected \(HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided: <redacted>\)/)(e);
      assert.ok(!e.message.includes(wrong) && !e.message.includes(encodeURIComponent(wrong)));
      return true;
    });
    assert.deepEqual(api.sim.log, [], 'the API saw nothing');
    assert.ok(logs.every((l) => !l.includes(wrong)));
  });

  it('pins the login host separately: a wrong certificate there sends no secret', async () => {
    const { c } = graph({ loginPin: '11'.repeat(32) });
    await assert.rejects(c.get('items'), isCode('E_TLS_FINGERPRINT'));
    assert.deepEqual(login.sim.log, [], 'the client secret never left');
    assert.deepEqual(api.sim.log, []);
  });

  it('retries a throttled token request like any other', async () => {
    login.sim.faults.add({ kind: 'status', status: 429, retryAfter: '1' });
    const { c, auth } = graph();
    await c.get('items');
    assert.equal(auth.fetched, 1);
    assert.deepEqual(
      login.sim.log.map((e) => e.status),
      [429, 200],
    );
    assert.equal(clock.slept, 1000);
  });
});
