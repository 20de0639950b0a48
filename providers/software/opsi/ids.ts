/**
 * opsi's own rules for ids, versions and enums, as the server enforces them
 * (python-opsi-common opsicommon/types.py at 74105b0: forceObjectId,
 * forceProductId, forceGroupId, forceFqdn, forceProductVersion,
 * forcePackageVersion, forceActionRequest, forceInstallationStatus).
 * Shared by the kinds (validate), the driver and the simulator, so a value a
 * manifest may hold is exactly a value the server accepts.
 *
 * The server lowercases ids before checking them (forceObjectId:
 * `forceStringLower(var).strip()`); manifests must write product and group ids
 * in lower case (they are identities compared with what the server returns),
 * while client FQDNs are lowercased like DNS names.
 */

/** forceObjectId (first character alphanumeric) plus _PRODUCT_ID_REGEX `^[a-z0-9-_\.]{1,128}$`. */
export const PRODUCT_ID = /^[a-z0-9][a-z0-9_.-]{0,127}$/;
/** _GROUP_ID_REGEX `^[a-z0-9][a-z0-9-_. ]*$` (spaces allowed, not at the ends: the server strips them); GROUP.groupId is varchar(255). */
export const GROUP_ID = /^[a-z0-9](?:[a-z0-9_. -]{0,253}[a-z0-9_.-])?$/;
/** _FQDN_REGEX; Python's `\w` on str patterns is Unicode-aware, hence \p{L}\p{N}_. At least host.domain.tld. */
const FQDN = /^[a-z0-9][a-z0-9-]{0,63}\.(?:(?:[\p{L}\p{N}_]+-+)|(?:[\p{L}\p{N}_]+\.))*[\p{L}\p{N}_]{1,63}\.[\p{L}\p{N}_]{2,16}\.?$/u;
/** _PRODUCT_VERSION_REGEX and _PACKAGE_VERSION_REGEX. */
export const PRODUCT_VERSION = /^[a-zA-Z0-9.]{1,32}$/;
export const PACKAGE_VERSION = /^[a-zA-Z0-9.]{1,16}$/;

/** forceActionRequest's set ("undefined" is read as null). */
export const ACTION_REQUESTS = ['setup', 'uninstall', 'update', 'always', 'once', 'custom', 'none'] as const;
export type ActionRequest = (typeof ACTION_REQUESTS)[number];
/** forceInstallationStatus's set. */
export const INSTALLATION_STATUSES = ['installed', 'not_installed', 'unknown'] as const;
/** What a SoftwareDeployment may ask for (the persistent requests; update/once/custom are one-off operator actions). */
export const DEPLOYMENT_ACTIONS = ['setup', 'uninstall', 'always'] as const;
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number];

/** A host id as opsi stores it (lowercased, trailing dot dropped), or undefined when opsi would refuse it ("Bad fqdn"). */
export function normalizeHostId(value: string): string | undefined {
  const v = value.toLowerCase();
  if (v.length > 255 || !FQDN.test(v)) return undefined;
  return v.endsWith('.') ? v.slice(0, -1) : v;
}

/** `128.0.3-1` -> productVersion 128.0.3, packageVersion 1 (neither may contain '-'); undefined when opsi would refuse either part. */
export function splitVersion(version: string): { productVersion: string; packageVersion: string } | undefined {
  const i = version.lastIndexOf('-');
  if (i < 0) return undefined;
  const productVersion = version.slice(0, i);
  const packageVersion = version.slice(i + 1);
  return PRODUCT_VERSION.test(productVersion) && PACKAGE_VERSION.test(packageVersion) ? { productVersion, packageVersion } : undefined;
}

/** The manifest's form of a product's version: `<productVersion>-<packageVersion>`. */
export function joinVersion(productVersion: unknown, packageVersion: unknown): string | undefined {
  return typeof productVersion === 'string' && typeof packageVersion === 'string' ? `${productVersion}-${packageVersion}` : undefined;
}
