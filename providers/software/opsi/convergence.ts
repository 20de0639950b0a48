/**
 * When a SoftwareDeployment is converged for one client (DESIGN.md: "the
 * product is installed at that version or an action request for it is
 * already pending"), decided from the client's ProductOnClient alone.
 *
 * Precisely, for a client's state of the product (no ProductOnClient at all
 * reads as opsi's defaults: not_installed, action request none; MySQL schema
 * PRODUCT_ON_CLIENT in opsiconfd backend/mysql/schema.py):
 * - setup:     the request `setup` is pending, or the product is installed at
 *              the version and no `uninstall` is pending (that would remove it);
 * - always:    the request `always` is pending (opsi keeps it set: the product
 *              runs at every event, so "installed" alone is not what was asked);
 * - uninstall: the request `uninstall` is pending, or the product is
 *              not_installed and no request is pending that would install it.
 * `installationStatus: unknown` (a failed or interrupted run) is never
 * converged except through a pending request of the deployment's action.
 */
import type { DeploymentAction } from './ids.js';

/** The attributes of a ProductOnClient the rule reads. */
export interface ClientProductState {
  installationStatus?: string | null;
  actionRequest?: string | null;
  productVersion?: string | null;
  packageVersion?: string | null;
}

const INSTALLING = new Set(['setup', 'always', 'once', 'update', 'custom']);

export function isConverged(action: DeploymentAction, version: string | undefined, poc: ClientProductState | undefined): boolean {
  const request = poc?.actionRequest ?? 'none';
  const status = poc?.installationStatus ?? 'not_installed';
  if (request === action) return true;
  if (action === 'always') return false;
  if (action === 'setup') {
    const installedVersion = poc?.productVersion && poc.packageVersion ? `${poc.productVersion}-${poc.packageVersion}` : undefined;
    return status === 'installed' && installedVersion === version && request !== 'uninstall';
  }
  return status === 'not_installed' && !INSTALLING.has(request);
}
