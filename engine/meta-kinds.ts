/**
 * Kinds the engine itself interprets and that have no live state on a
 * device. `Policy` is one too, but policies/ defines it (it owns CEL); the
 * names of all meta kinds are listed here so that everyone agrees on them.
 */
import type { KindDef } from './contract.js';
import { governanceKinds } from './governance/kinds.js';

export const metaKinds: KindDef[] = [
  { kind: 'Environment', area: 'core', schema: 'core/Environment.schema.json', isMeta: true },
  { kind: 'Profile', area: 'core', schema: 'core/Profile.schema.json', isMeta: true },
  ...governanceKinds,
];

/** Every meta kind, the one defined by policies/ included. */
export const META_KIND_NAMES: ReadonlySet<string> = new Set(['Environment', 'Profile', 'Policy', 'Reviewer']);
