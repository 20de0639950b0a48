/**
 * Network management: kinds Switch, Vlan, SwitchPort and the switch drivers
 * `ios` (Cisco IOS/IOS-XE CLI over SSH) and `aoscx` (HPE Aruba AOS-CX REST, with
 * the CLI over SSH for its auto checkpoint).
 */
import type { Driver, KindDef } from '../../engine/types.js';
import { networkKinds } from './kinds.js';
import { iosDriver } from './ios/driver.js';
import { aoscxDriver } from './aoscx/driver.js';

export const kinds: KindDef[] = networkKinds;
export const drivers: Driver[] = [iosDriver, aoscxDriver];
