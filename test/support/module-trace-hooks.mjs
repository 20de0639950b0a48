// Module customization hooks (node --import): append every URL Node loads to $EINKLANG_MODULE_TRACE.
// Used by test/architecture/lazy-loading.test.ts to check which modules a verb loads.
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (process.env.EINKLANG_MODULE_TRACE) appendFileSync(process.env.EINKLANG_MODULE_TRACE, url + '\n');
  return nextLoad(url, context);
}
