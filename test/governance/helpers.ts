/** Builders for governance tests: resources with positions, plans with a valid hash. */
import type { Change, Plan, Resource, Zone } from '../../engine/types.js';
import { readFileSync } from 'node:fs';
import { computePlanHash, keygen } from '../../engine/governance/approvals.js';

let line = 1;

export function res(
  env: string,
  zone: Zone,
  kind: string,
  name: string,
  spec: any,
  opts: { labels?: Record<string, string>; positions?: Record<string, [number, number]>; file?: string } = {},
): Resource {
  const start = (line += 20);
  const positions: Record<string, [number, number]> = { '/metadata/name': [start + 2, 9] };
  // Give every leaf a distinct position so tests can check where diagnostics point.
  const walk = (v: any, ptr: string, depth: number) => {
    positions[ptr] = positions[ptr] ?? [start + 3 + depth + Object.keys(positions).length, 3 + depth * 2];
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${ptr}/${k}`, depth + 1);
  };
  walk(spec, '/spec', 0);
  Object.assign(positions, opts.positions ?? {});
  return {
    address: `${env}/${kind}/${name}`,
    env,
    zone,
    apiVersion: 'einklang/v1',
    kind,
    name,
    labels: opts.labels ?? {},
    spec,
    pos: { file: opts.file ?? `environments/${env}/${kind.toLowerCase()}s.yaml`, line: start, col: 1 },
    positions,
    dir: `environments/${env}`,
  };
}

export function environment(env: string, zone: Zone, spec: any = {}): Resource {
  return res(env, zone, 'Environment', env, { zone, ...spec }, { file: `environments/${env}/environment.yaml` });
}

export function change(address: string, actions: Change['actions'], kind = address.split('/')[1]): Change {
  return {
    address,
    resource: address.replace(/\[.*\]$/, ''),
    kind,
    target: '',
    id: address,
    actions,
    before: actions.includes('create') && actions.length === 1 ? null : { a: 1 },
    after: actions.length === 1 && actions[0] === 'delete' ? null : { a: 2 },
    diff: [],
    liveFingerprint: 'sha256:x',
    dependsOn: [],
  };
}

export function makePlan(over: Partial<Plan> = {}): Plan {
  const plan: Plan = {
    formatVersion: 1,
    engineVersion: '0.1.0',
    createdAt: '2025-01-01T00:00:00.000Z',
    source: { gitRevision: 'abc', dirty: false, manifestsHash: 'sha256:m', paths: ['environments/school-a'] },
    zone: 'school',
    environments: ['school-a'],
    author: 'author@example.org',
    summary: { create: 1, update: 0, delete: 0, replace: 0, noop: 0, unmanaged: 0 },
    applyable: true,
    complete: true,
    errored: [],
    changes: [change('school-a/Vlan/students[core-01]', ['create'])],
    unmanaged: [],
    warnings: [],
    policy: [],
    approvalsRequired: { count: 2, groups: ['school-net'] },
    hash: '',
    approvals: [],
    ...over,
  };
  plan.hash = computePlanHash(plan);
  return plan;
}

export interface Person {
  name: string;
  key: string;
  pub: string;
  reviewer: Resource;
}

/** A reviewer with a fresh key pair in `dir`. */
export function person(dir: string, name: string, groups: string[], email?: string, env = 'verwaltung'): Person {
  const k = keygen(dir, name);
  return {
    name,
    key: readFileSync(k.keyFile, 'utf8'),
    pub: k.publicKey,
    reviewer: res(env, 'administration', 'Reviewer', name, { publicKey: k.publicKey, groups, ...(email ? { email } : {}) }),
  };
}

