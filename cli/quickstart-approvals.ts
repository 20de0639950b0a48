/**
 * The quickstart's approval step. Until reviewers exist in the demo, no
 * approvals are needed and this returns no commands.
 */
export function prepareDemoApprovals(_planFile: string, _workDir: string): string[][] {
  return [];
}
