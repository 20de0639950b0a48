/**
 * One table of the simulated opsi database: rows by primary key, the columns
 * filters may name, and an index on one attribute (what MySQL's keys give the
 * real server: `FK_PRODUCT_ON_CLIENT_HOST (clientId)`, `OBJECT_TO_GROUP
 * (groupType, groupId)`), so a read of one school's 300 clients does not scan
 * the 700 000 product states of a city. The index only chooses candidates;
 * the filter itself (filter.ts) still decides.
 */
import { CLASSES, type OpsiObject } from './objects.js';

export class Table {
  readonly rows = new Map<string, OpsiObject>();
  readonly columns: string[];
  private readonly index = new Map<string, Set<string>>();

  constructor(
    types: string[],
    readonly hasType: boolean,
    private readonly indexed?: string,
  ) {
    this.columns = [...new Set(types.flatMap((t) => CLASSES[t].attributes))];
  }

  private indexKey(o: OpsiObject): string | undefined {
    const v = this.indexed ? o[this.indexed] : undefined;
    return v === null || v === undefined ? undefined : String(v).toLowerCase();
  }

  set(key: string, o: OpsiObject): void {
    this.delete(key);
    this.rows.set(key, o);
    const ik = this.indexKey(o);
    if (ik !== undefined) (this.index.get(ik) ?? this.index.set(ik, new Set()).get(ik)!).add(key);
  }

  delete(key: string): void {
    const old = this.rows.get(key);
    if (!old) return;
    this.rows.delete(key);
    const ik = this.indexKey(old);
    if (ik !== undefined) this.index.get(ik)?.delete(key);
  }

  /** Rows that may match `filter`: through the index when the filter names exact values of the indexed attribute. */
  candidates(filter: Record<string, unknown>): Iterable<OpsiObject> {
    const want = this.indexed ? filter[this.indexed] : undefined;
    const values = want === undefined || want === null ? [] : Array.isArray(want) ? want : [want];
    // more than 10 values are an exact IN; fewer may be patterns (`*`) or comparisons (`<`, `>`), which the index cannot answer
    const exact = values.length > 0 && values.every((v) => typeof v === 'string' && (values.length > 10 || !/^[<>]|\*/.test(v)));
    if (!exact) return this.rows.values();
    const out: OpsiObject[] = [];
    for (const v of new Set(values.map((x) => String(x).toLowerCase()))) for (const k of this.index.get(v) ?? []) out.push(this.rows.get(k)!);
    return out;
  }
}
