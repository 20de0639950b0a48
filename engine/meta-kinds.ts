/**
 * Kinds the engine itself interprets and that have no live state on a device.
 * Later areas (governance) add Policy and Reviewer here.
 */
import type { KindDef } from './types.js';

export const metaKinds: KindDef[] = [
  { kind: 'Environment', area: 'core', schema: 'core/Environment.schema.json', isMeta: true },
  { kind: 'Profile', area: 'core', schema: 'core/Profile.schema.json', isMeta: true },
];
