/**
 * Builds a {@link Catalog} from registered kinds, driver entries and a policy
 * set. Lookups are maps; a driver's code is loaded on first use and cached,
 * so concurrent reads of 200 switches load the switch driver once.
 */
import type { Catalog, Driver, DriverEntry, KindDef, PolicySet } from './contract.js';

export function makeCatalog(parts: { kinds: KindDef[]; drivers: DriverEntry[]; policies: PolicySet }): Catalog {
  const kindByName = new Map<string, KindDef>();
  for (const k of parts.kinds) {
    if (kindByName.has(k.kind)) throw new Error(`kind ${k.kind} is registered twice`);
    kindByName.set(k.kind, k);
  }
  const entryByName = new Map<string, DriverEntry>();
  for (const d of parts.drivers) {
    if (entryByName.has(d.name)) throw new Error(`driver ${d.name} is registered twice`);
    entryByName.set(d.name, d);
  }
  const loaded = new Map<string, Promise<Driver>>();
  return {
    kinds: parts.kinds,
    kind: (name) => kindByName.get(name),
    driverEntry: (name) => entryByName.get(name),
    driver(name) {
      let p = loaded.get(name);
      if (!p) {
        const entry = entryByName.get(name);
        if (!entry) return Promise.reject(new Error(`no driver ${JSON.stringify(name)}`));
        p = entry.load();
        loaded.set(name, p);
      }
      return p;
    },
    policies: parts.policies,
  };
}
