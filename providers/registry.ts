/**
 * Every kind and driver einklang knows. Each area folder exports `kinds` and
 * `drivers`; this file only puts them together, so adding an area is one line.
 */
import type { Driver, KindDef } from '../engine/types.js';
import { metaKinds } from '../engine/meta-kinds.js';
import * as servers from './servers/index.js';
import * as network from './network/index.js';

export const kindDefs: KindDef[] = [...metaKinds, ...servers.kinds, ...network.kinds];
export const drivers: Driver[] = [...servers.drivers, ...network.drivers];

const kindByName = new Map(kindDefs.map((k) => [k.kind, k]));
const driverByName = new Map(drivers.map((d) => [d.name, d]));

export function kindDef(kind: string): KindDef | undefined {
  return kindByName.get(kind);
}

export function driverFor(driverName: string): Driver | undefined {
  return driverByName.get(driverName);
}
