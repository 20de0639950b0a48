/**
 * The plan file: plain versioned JSON (terraform's internal/plans idea). Its
 * `hash` covers everything but `hash` and `approvals`, so a reviewer's
 * signature over the hash covers the whole plan, and any edit is detected.
 */
import { writeFileSync, renameSync } from 'node:fs';
import type { Plan } from './types.js';
import { PLAN_FORMAT_VERSION } from './types.js';
import { canonicalJson, sha256 } from './hash.js';
import type { PlanWithTargets } from './targets.js';
import { readRegularFile } from './local-files.js';

/** A plan file larger than this is refused before it is parsed (a plan of 40,000 changes is far smaller). */
export const MAX_PLAN_FILE_BYTES = 256 * 1024 * 1024;

/** `sha256:<hex>` over the canonical JSON of the plan without `hash` and `approvals`. */
export function computePlanHash(plan: Omit<Plan, 'hash'> | Plan | Record<string, unknown>): string {
  const { hash: _h, approvals: _a, ...rest } = plan as Plan;
  return 'sha256:' + sha256(canonicalJson(rest));
}

export class PlanFileError extends Error {}

export function writePlanFile(file: string, plan: Plan): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(plan, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, file);
}

const REQUIRED: (keyof Plan)[] = ['formatVersion', 'engineVersion', 'createdAt', 'source', 'zone', 'environments', 'summary', 'applyable', 'complete', 'errored', 'changes', 'policy', 'approvalsRequired', 'hash', 'approvals'];

/** Read and structurally check a plan file. Does not check the hash (apply does, with a clear refusal). */
export function readPlanFile(file: string): PlanWithTargets {
  let text: string;
  try {
    text = readRegularFile(file, MAX_PLAN_FILE_BYTES).toString('utf8');
  } catch (e) {
    throw new PlanFileError(`cannot read plan: ${(e as Error).message}`);
  }
  let plan: PlanWithTargets;
  try {
    plan = JSON.parse(text);
  } catch (e) {
    throw new PlanFileError(`not a plan file (invalid JSON: ${(e as Error).message})`);
  }
  if (!plan || typeof plan !== 'object' || Array.isArray(plan)) throw new PlanFileError('not a plan file');
  for (const k of REQUIRED) if (!(k in plan)) throw new PlanFileError(`not a plan file: field ${k} is missing`);
  if (plan.formatVersion !== PLAN_FORMAT_VERSION) throw new PlanFileError(`plan format version ${plan.formatVersion} is not supported (this einklang reads version ${PLAN_FORMAT_VERSION})`);
  if (!Array.isArray(plan.changes) || !Array.isArray(plan.approvals)) throw new PlanFileError('not a plan file: changes/approvals must be lists');
  if (!Array.isArray(plan.targets)) plan.targets = [];
  return plan;
}
