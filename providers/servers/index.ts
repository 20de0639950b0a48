import type { Driver, KindDef } from '../../engine/types.js';
import { serverKinds } from './kinds.js';
import { sshDriver } from './linux/driver.js';

export const kinds: KindDef[] = [...serverKinds];
export const drivers: Driver[] = [sshDriver];
