/**
 * Every kind and driver of the providers. Each area folder exports `kinds`
 * and `drivers` (DriverEntry: static checks plus a loader); this file puts
 * them together, so adding an area is one line here. The engine never
 * imports this file: cli/catalog.ts hands it to the engine as a Catalog.
 */
import type { DriverEntry, KindDef } from '../engine/contract.js';
import * as servers from './servers/index.js';
import * as network from './network/index.js';
import * as licenses from './licenses/index.js';
import * as security from './security/index.js';
import * as endpoints from './endpoints/index.js';
import * as software from './software/index.js';

const areas: { kinds: KindDef[]; drivers: DriverEntry[] }[] = [servers, network, endpoints, software, security, licenses];

export const providerKinds: KindDef[] = areas.flatMap((a) => a.kinds);
export const driverEntries: DriverEntry[] = areas.flatMap((a) => a.drivers);
