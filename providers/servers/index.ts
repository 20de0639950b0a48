import type { Driver, KindDef } from '../../engine/types.js';
import { serverKinds } from './kinds.js';
import { sshDriver } from './linux/driver.js';
import { winrmDriver, winrmKinds } from './winrm/index.js';

export const kinds: KindDef[] = [...serverKinds, ...winrmKinds];
export const drivers: Driver[] = [sshDriver, winrmDriver];
