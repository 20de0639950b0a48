/**
 * Kinds the engine itself interprets and that have no live state on a device.
 * Governance adds Policy and Reviewer.
 */
import type { KindDef } from './types.js';
import { governanceKinds } from './governance/kinds.js';

export const metaKinds: KindDef[] = [
  { kind: 'Environment', area: 'core', schema: 'core/Environment.schema.json', isMeta: true },
  { kind: 'Profile', area: 'core', schema: 'core/Profile.schema.json', isMeta: true },
  ...governanceKinds,
];
