import type { Driver, KindDef } from '../../engine/types.js';

export const kinds: KindDef[] = [];
export const drivers: Driver[] = [];
