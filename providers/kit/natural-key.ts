/**
 * Natural-key identity for systems that assign their own ids. Manifests never
 * carry server ids (DESIGN.md "API-managed systems"): an Intune profile is
 * found by its displayName, a Snipe-IT license by its name, an opsi group by
 * its id, an OPNsense alias by its name. When two live objects share the key
 * einklang refuses to guess (E_AMBIGUOUS_LIVE, naming both server ids).
 *
 * The index is lazy about ambiguity: duplicates among objects no manifest asks
 * for do not break a read, but asking for an ambiguous key always fails.
 */
import { ApiError } from './errors.js';

/** E_AMBIGUOUS_LIVE for `kind` objects sharing `key`; names every server id. */
export function ambiguousLiveError(kind: string, key: string, ids: string[]): ApiError {
  const list = ids.length === 2 ? `${ids[0]} and ${ids[1]}` : `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
  return new ApiError(
    `${ids.length} live ${kind} objects share the natural key ${JSON.stringify(key)}: server ids ${list}. ` +
      'einklang will not guess which one is meant: rename or remove the extra ones on the server',
    'E_AMBIGUOUS_LIVE',
  );
}

export interface NaturalKeyOptions<T> {
  /** Kind name for messages (`ConfigurationProfile`). */
  kind: string;
  /** The natural key of a live object; undefined for objects that have none (they are only "unclaimed"). */
  keyOf(o: T): string | undefined;
  /** The server's id, for messages. */
  idOf(o: T): string;
  /** Canonical form of keys when the server compares them loosely (e.g. case-insensitive names). */
  normalize?(key: string): string;
}

export class NaturalKeyIndex<T> {
  private readonly byKey = new Map<string, T[]>();
  private readonly all: T[];
  private readonly claimed = new Set<T>();

  constructor(
    objects: Iterable<T>,
    private readonly o: NaturalKeyOptions<T>,
  ) {
    this.all = [...objects];
    for (const obj of this.all) {
      const k = o.keyOf(obj);
      if (k === undefined) continue;
      const nk = this.norm(k);
      const list = this.byKey.get(nk);
      if (list) list.push(obj);
      else this.byKey.set(nk, [obj]);
    }
  }

  private norm(k: string): string {
    return this.o.normalize ? this.o.normalize(k) : k;
  }

  /**
   * The one live object with this key (and marks it claimed), undefined when
   * there is none. Throws E_AMBIGUOUS_LIVE when there are several.
   */
  get(key: string): T | undefined {
    const list = this.byKey.get(this.norm(key));
    if (!list) return undefined;
    if (list.length > 1) throw ambiguousLiveError(this.o.kind, key, list.map((x) => this.o.idOf(x)));
    this.claimed.add(list[0]);
    return list[0];
  }

  /** Live objects no `get` returned so far: candidates for the unmanaged report, import and prune. */
  unclaimed(): T[] {
    return this.all.filter((x) => !this.claimed.has(x));
  }

  /** Keys shared by several live objects, with their server ids. */
  ambiguous(): { key: string; ids: string[] }[] {
    return [...this.byKey].filter(([, l]) => l.length > 1).map(([key, l]) => ({ key, ids: l.map((x) => this.o.idOf(x)) }));
  }
}
