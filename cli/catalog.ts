/**
 * The composition root: the one place where the engine meets the providers
 * and the policies. The engine receives this catalog and imports neither.
 */
import type { Catalog } from '../engine/contract.js';
import { makeCatalog } from '../engine/catalog.js';
import { metaKinds } from '../engine/meta-kinds.js';
import { driverEntries, providerKinds } from '../providers/registry.js';
import { policyKind } from '../policies/kinds.js';
import { builtinPolicies } from '../policies/set.js';

let catalog: Catalog | undefined;

/** Every kind, driver and built-in policy einklang ships. */
export function defaultCatalog(): Catalog {
  return (catalog ??= makeCatalog({ kinds: [...metaKinds, policyKind, ...providerKinds], drivers: driverEntries, policies: builtinPolicies }));
}
