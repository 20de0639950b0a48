/**
 * The kit's pure parts: UUIDv5 (RFC vectors), natural-key identity, pinning
 * notations, Retry-After and retry decisions, and the error mapping of real
 * bodies from the corpus (errors inside HTTP 200 of Snipe-IT and OPNsense,
 * Graph error bodies).
 */
import assert from 'node:assert/strict';
import { EINKLANG_NAMESPACE, NAMESPACE_DNS, NAMESPACE_URL, isUuid, resourceUuid, uuidv5 } from '../../providers/kit/uuid.js';
import { NaturalKeyIndex } from '../../providers/kit/natural-key.js';
import { certFingerprint, isLoopbackHost, normaliseCertFingerprint, parseCertFingerprint, sshFingerprintOfBlob, tlsPinProblem } from '../../providers/kit/pinning.js';
import * as labIdentity from '../../providers/lab/identity.js';
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter, retryDecision } from '../../providers/kit/retry.js';
import { ApiError, httpStatusError, resultFailedEnvelope, serverMessage, statusErrorEnvelope } from '../../providers/kit/errors.js';
import { encodeQuery } from '../../providers/kit/client.js';
import { corpusJson, corpusJsonFiles } from '../support/shared.js';
import { isCode } from './is-code.js';

describe('kit: UUIDv5', () => {
  it('matches the RFC 9562 test vector (Appendix A.4: www.example.com in the DNS name space)', () => {
    assert.equal(uuidv5('www.example.com', NAMESPACE_DNS), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('derives the einklang name space as documented, and resource ids from addresses (values from Python uuid.uuid5)', () => {
    assert.equal(uuidv5('urn:einklang:resource-address', NAMESPACE_URL), EINKLANG_NAMESPACE);
    assert.equal(resourceUuid('gs-nord/FirewallRule/web'), '35c950b5-562d-5aad-86d0-c678be4ea043');
    assert.equal(resourceUuid('schule/Grüße/ü'), '3157ae56-9ed2-57c3-b56f-b7211b72c534', 'names are UTF-8');
  });

  it('sets version 5 and the RFC variant, and is stable and distinct', () => {
    const ids = ['a/FirewallRule/x', 'a/FirewallRule/y', 'b/FirewallRule/x', 'a/FirewallRule/x[fw-1]'].map(resourceUuid);
    for (const id of ids) {
      assert.ok(isUuid(id));
      assert.equal(id[14], '5');
      assert.ok('89ab'.includes(id[19]));
    }
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(resourceUuid('a/FirewallRule/x'), ids[0]);
    assert.throws(() => uuidv5('x', 'not-a-uuid'), /not a UUID/);
  });
});

describe('kit: natural-key identity', () => {
  const live = [
    { id: 'a1', displayName: 'GS Nord iPads' },
    { id: 'b2', displayName: 'GS Süd iPads' },
    { id: 'c3', displayName: 'GS Nord iPads' },
    { id: 'd4', displayName: 'Verwaltung' },
    { id: 'e5' },
  ];
  const index = () => new NaturalKeyIndex(live, { kind: 'DeviceGroup', keyOf: (o) => o.displayName, idOf: (o) => o.id });

  it('finds the one live object of a key, and nothing for an unknown key', () => {
    const ix = index();
    assert.equal(ix.get('GS Süd iPads')?.id, 'b2');
    assert.equal(ix.get('GS Ost iPads'), undefined);
  });

  it('refuses to guess between two live objects with one key: E_AMBIGUOUS_LIVE naming both ids', () => {
    assert.throws(() => index().get('GS Nord iPads'), isCode('E_AMBIGUOUS_LIVE', /2 live DeviceGroup objects share the natural key "GS Nord iPads": server ids a1 and c3\. einklang will not guess/));
    assert.deepEqual(index().ambiguous(), [{ key: 'GS Nord iPads', ids: ['a1', 'c3'] }]);
  });

  it('reports what no desired object claimed (duplicates and key-less objects included)', () => {
    const ix = index();
    ix.get('Verwaltung');
    assert.deepEqual(
      ix.unclaimed().map((o) => o.id),
      ['a1', 'b2', 'c3', 'e5'],
    );
  });

  it('compares keys the way the server does when told to', () => {
    const ix = new NaturalKeyIndex(live, { kind: 'DeviceGroup', keyOf: (o) => o.displayName, idOf: (o) => o.id, normalize: (k) => k.toLowerCase() });
    assert.equal(ix.get('VERWALTUNG')?.id, 'd4');
    assert.throws(() => ix.get('gs nord ipads'), isCode('E_AMBIGUOUS_LIVE'));
  });
});

describe('kit: pinning', () => {
  const der = Buffer.from('not really a certificate, but bytes to hash');
  const fp = certFingerprint(der);

  it('accepts every notation of a SHA-256 certificate fingerprint and refuses anything else', () => {
    const hex = fp.replace(/:/g, '');
    for (const s of [fp, hex, hex.toLowerCase(), `sha256:${hex}`, `SHA256:${fp}`, ` ${fp} `]) assert.deepEqual(parseCertFingerprint(s), { ok: true, fingerprint: fp });
    for (const s of ['', 'AB:CD', hex + '00', 'zz'.repeat(32), 42, undefined]) assert.equal(parseCertFingerprint(s).ok, false, String(s));
    assert.equal(normaliseCertFingerprint(`sha256:${hex.toLowerCase()}`), fp);
  });

  it('requires a pin for loopback (lab) hosts only, and a well-formed one anywhere', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]']) {
      assert.ok(isLoopbackHost(h), h);
      assert.match(tlsPinProblem(h, undefined)!, /required for a loopback/);
    }
    for (const h of ['graph.microsoft.com', '10.0.0.1', '127.example.org', '::2']) assert.ok(!isLoopbackHost(h), h);
    assert.equal(tlsPinProblem('graph.microsoft.com', undefined), undefined, 'elsewhere the CAs decide');
    assert.equal(tlsPinProblem('127.0.0.1', fp), undefined);
    assert.match(tlsPinProblem('opsi.schule.local', 'AB:CD')!, /64 hex digits/);
  });

  it('prints the SSH fingerprint as ssh-keygen -lf does', () => {
    assert.match(sshFingerprintOfBlob(Buffer.from('blob')), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('keeps the old imports from providers/lab/identity.ts working (same functions)', () => {
    assert.equal(labIdentity.certFingerprint, certFingerprint);
    assert.equal(labIdentity.normaliseCertFingerprint, normaliseCertFingerprint);
    assert.equal(labIdentity.sshFingerprintOfBlob, sshFingerprintOfBlob);
    const lab = labIdentity.labCertificate('test/Kit/pin', 'pin');
    assert.equal(parseCertFingerprint(lab.fingerprint256).ok, true);
  });
});

describe('kit: retry decisions', () => {
  const now = Date.UTC(2025, 0, 6, 8, 0, 0);
  const p = DEFAULT_RETRY;
  const decide = (outcome: Parameters<typeof retryDecision>[0], idempotent: boolean, attempt = 1) => retryDecision(outcome, { attempt, idempotent, policy: p, random: () => 0 });
  const err = (code: string, notSent = false) => ({ error: new ApiError('x', code, { notSent }) });

  it('reads Retry-After as seconds (fractions too) or as an HTTP-date', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('2.128', now), 2128);
    assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
    assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(['5', '7'], now), 5000);
  });

  it('grows the backoff exponentially up to the cap, jittered between 50 and 100 %', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffDelay(n, p, () => 1)),
      [500, 1000, 2000, 4000],
    );
    assert.equal(backoffDelay(20, p, () => 1), p.maxDelayMs);
    assert.equal(backoffDelay(3, p, () => 0), 1000);
  });

  it('retries 429/503 for every method, other 5xx and lost answers only when idempotent', () => {
    assert.equal(decide({ status: 429 }, false).retry, true);
    assert.equal(decide({ status: 503, retryAfterMs: 1000 }, false).retry, true);
    assert.equal(decide({ status: 500 }, false).retry, false);
    assert.equal(decide({ status: 500 }, true).retry, true);
    assert.equal(decide({ status: 400 }, true).retry, false);
    for (const code of ['E_TIMEOUT', 'E_CONNECTION_DROPPED', 'E_TRUNCATED_RESPONSE']) {
      assert.equal(decide(err(code), false).retry, false, code);
      assert.equal(decide(err(code), true).retry, true, code);
    }
    assert.equal(decide(err('E_CONNECT', true), false).retry, true, 'refused: never sent');
    for (const code of ['E_TLS_FINGERPRINT', 'E_TLS']) assert.equal(decide(err(code, true), true).retry, false, code);
    assert.equal(decide({ status: 429 }, true, p.maxAttempts).retry, false, 'bounded');
  });
});

describe('kit: error mapping', () => {
  it('maps statuses to codes and says what to check', () => {
    const cases: [number, string][] = [
      [401, 'E_AUTH'],
      [403, 'E_FORBIDDEN'],
      [404, 'E_NOT_FOUND'],
      [409, 'E_CONFLICT'],
      [429, 'E_THROTTLED'],
      [500, 'E_SERVER'],
      [503, 'E_SERVER'],
      [400, 'E_HTTP'],
    ];
    for (const [status, code] of cases) {
      const e = httpStatusError(status, { method: 'GET', path: '/api/v1/licenses?search=x&token=t', body: undefined });
      assert.equal(e.code, code);
      assert.equal(e.detail.status, status);
      assert.ok(!e.message.includes('token=t'), 'no query string in messages');
    }
  });

  it("finds Snipe-IT's errors inside HTTP 200 in every corpus answer, and only there", () => {
    const files = corpusJsonFiles('snipeit');
    assert.ok(files.length >= 15);
    let errors = 0;
    for (const f of files) {
      const { response } = corpusJson('snipeit', f);
      const problem = statusErrorEnvelope(response.body);
      assert.equal(problem !== undefined, response.body.status === 'error', f);
      if (response.status === 200 && problem) {
        errors++;
        assert.ok(problem.length > 5, `${f}: ${problem}`);
      }
    }
    assert.equal(errors, 2, 'hardware_create_validation_error and hardware_get_not_found');
    assert.equal(statusErrorEnvelope(corpusJson('snipeit', 'hardware_create_validation_error.json').response.body), 'status_id: The selected status id is invalid.');
    assert.equal(statusErrorEnvelope(corpusJson('snipeit', 'hardware_get_not_found.json').response.body), 'Asset does not exist.');
  });

  it("finds OPNsense's failed results inside HTTP 200 in every corpus answer, and only there", () => {
    let failed = 0;
    for (const f of corpusJsonFiles('opnsense', 'opn-cli')) {
      const body = corpusJson('opnsense', 'opn-cli', f).response.body;
      const problem = resultFailedEnvelope(body);
      assert.equal(problem !== undefined, body.result === 'failed', f);
      if (problem) failed++;
    }
    assert.equal(failed, 5);
    assert.equal(resultFailedEnvelope(corpusJson('opnsense', 'opn-cli', 'filter_addRule_validation_failed.json').response.body), 'rule.source_net: alias_not_exists is not a valid source IP address or alias.');
    assert.equal(resultFailedEnvelope(corpusJson('opnsense', 'opn-cli', 'filter_setRule_failed.json').response.body), 'result "failed" without validation messages');
  });

  it('extracts the message of real error bodies (Graph, Snipe-IT 401s, OPNsense 400)', () => {
    assert.equal(serverMessage(corpusJson('graph', 'common', 'throttling_429.json').response.body), 'TooManyRequests: Please retry again later.');
    assert.equal(serverMessage(corpusJson('graph', 'common', 'error_envelope_body.json')), 'invalidRange: Uploaded fragment overlaps with existing data.');
    assert.equal(serverMessage(corpusJson('snipeit', 'hardware_delete_401.json').response.body), 'Unauthenticated.');
    assert.equal(serverMessage(corpusJson('snipeit', 'licenses_list_401.json').response.body), 'Unauthorized.');
    assert.equal(serverMessage(corpusJson('snipeit', 'hardware_list_401.json').response.body), 'An Error has occured! Unauthenticated.');
    assert.equal(serverMessage(corpusJson('opnsense', 'opn-cli', 'unknown_controller_400.json').response.body), 'controller OPNsense\\Core\\Api\\IndexController not found');
    assert.equal(serverMessage({ error: 'x'.repeat(1000) }).length, 303, 'clipped');
  });

  it('keeps OData system query options readable in query strings', () => {
    assert.equal(encodeQuery({ $filter: "displayName eq 'GS Nord'", $top: 5, skip: undefined, n: null }), "$filter=displayName%20eq%20'GS%20Nord'&$top=5");
  });
});
