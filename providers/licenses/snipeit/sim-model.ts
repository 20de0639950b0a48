/**
 * The state of a simulated Snipe-IT (v8.1.4) and what its models do with it:
 * licenses with their seat rows, manufacturers, categories, users and assets.
 * Lab and test code only; the HTTP side is simulator.ts.
 *
 * Behaviour modelled on snipe/snipe-it v8.1.4 (commit 5aa5c48):
 * - License::$rules: name required 3..255, seats required integer >= 1,
 *   category_id required and existing, expiration_date / termination_date
 *   `date_format:Y-m-d`; everything else in $fillable is taken as given
 *   (manufacturer_id unchecked: an unknown id is stored and reads back null);
 *   fields outside $fillable (product_key, assigned seats, ...) are ignored.
 * - License::boot / adjustSeatCount: creating inserts `seats` seat rows;
 *   raising adds rows; lowering deletes free rows only and, when too few are
 *   free, aborts the whole save without a validation error (the controller
 *   then answers `status: error` with empty messages).
 * - LicensesController::destroy: refused (assoc_users message) while a seat
 *   is checked out, else soft delete of the license and its seats.
 * - LicenseSeatsController::update: checkout to a user (`assigned_to`) or an
 *   asset (`asset_id`), checkin by nulls, no-op success when neither changes,
 *   "Target not found" for an unknown user or asset, and (8.1.4) silent
 *   reassignment of an occupied seat.
 * Validation messages use Laravel 11's English wording.
 */
import { escapeName } from './wire.js';

export type CategoryType = 'asset' | 'accessory' | 'consumable' | 'component' | 'license';

export interface SimLicense {
  id: number;
  name: string;
  seats: number;
  category_id: number | null;
  manufacturer_id: number | null;
  expiration_date: string | null;
  termination_date: string | null;
  serial: string | null;
  notes: string | null;
  reassignable: boolean;
  maintained: boolean;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface SimSeat {
  id: number;
  license_id: number;
  assigned_to: number | null;
  asset_id: number | null;
  notes: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface SimNamed {
  id: number;
  name: string;
}

export interface SimCategory extends SimNamed {
  category_type: CategoryType;
}

/** A validation outcome in Laravel's shape: field -> messages. */
export type Errors = Record<string, string[]>;

export type WriteOutcome = { ok: true; license: SimLicense; echo: Record<string, unknown> } | { ok: false; messages: Errors | string | [] };

/** License::$fillable (the fields a POST/PATCH may set). */
const FILLABLE = [
  'company_id', 'depreciation_id', 'expiration_date', 'license_email', 'license_name', 'maintained', 'manufacturer_id', 'category_id',
  'name', 'notes', 'order_number', 'purchase_cost', 'purchase_date', 'purchase_order', 'reassignable', 'seats', 'serial', 'supplier_id',
  'termination_date', 'min_amt',
];

const CATEGORY_LABEL: Record<CategoryType, string> = { asset: 'Asset', accessory: 'Accessory', consumable: 'Consumable', component: 'Component', license: 'License' };

/** `Y-m-d H:i:s` in UTC. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** Laravel's `date_format:Y-m-d`: parses and formats back to the same string. */
function isYmd(v: unknown): boolean {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}

/** Laravel's `integer` rule: an int, or a string of one. */
function asInteger(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return Number(v);
  return undefined;
}

const blank = (v: unknown) => v === undefined || v === null || v === '';

export class SnipeitModel {
  readonly licenses = new Map<number, SimLicense>();
  readonly seats = new Map<number, SimSeat>();
  /** Seat rows per license (deleted ones included), so a list of 500 pools does not scan every seat 500 times. */
  private readonly seatRows = new Map<number, SimSeat[]>();
  readonly manufacturers = new Map<number, SimNamed>();
  readonly categories = new Map<number, SimCategory>();
  readonly users = new Map<number, SimNamed & { email: string }>();
  readonly assets = new Map<number, SimNamed>();
  private next = { license: 1, seat: 1, manufacturer: 1, category: 1, user: 1, asset: 1 };

  constructor(private readonly now: () => number = Date.now) {
    this.addUser('Admin User', 'admin@lab.invalid');
  }

  /** Plain data of everything, for tests that compare before and after. */
  snapshot(): unknown {
    return structuredClone({ licenses: [...this.licenses.values()], seats: [...this.seats.values()], manufacturers: [...this.manufacturers.values()], categories: [...this.categories.values()] });
  }

  addManufacturer(name: string): number {
    const id = this.next.manufacturer++;
    this.manufacturers.set(id, { id, name });
    return id;
  }

  addCategory(name: string, category_type: CategoryType = 'license'): number {
    const id = this.next.category++;
    this.categories.set(id, { id, name, category_type });
    return id;
  }

  addUser(name: string, email: string): number {
    const id = this.next.user++;
    this.users.set(id, { id, name, email });
    return id;
  }

  addAsset(name: string): number {
    const id = this.next.asset++;
    this.assets.set(id, { id, name });
    return id;
  }

  /** Live (not deleted) seat rows of a license, oldest first. */
  seatsOf(licenseId: number): SimSeat[] {
    return (this.seatRows.get(licenseId) ?? []).filter((s) => !s.deleted_at);
  }

  freeSeats(licenseId: number): number {
    return this.seatsOf(licenseId).filter((s) => s.assigned_to === null && s.asset_id === null).length;
  }

  assignedSeats(licenseId: number): number {
    return this.seatsOf(licenseId).length - this.freeSeats(licenseId);
  }

  private validate(l: SimLicense): Errors | undefined {
    const e: Errors = {};
    const add = (f: string, m: string) => (e[f] ??= []).push(m);
    if (blank(l.name)) add('name', 'The name field is required.');
    else if (typeof l.name !== 'string') add('name', 'The name field must be a string.');
    else if ([...l.name].length < 3) add('name', 'The name field must be at least 3 characters.');
    else if ([...l.name].length > 255) add('name', 'The name field must not be greater than 255 characters.');
    if (blank(l.seats)) add('seats', 'The seats field is required.');
    else if (asInteger(l.seats) === undefined) add('seats', 'The seats field must be an integer.');
    else if (asInteger(l.seats)! < 1) add('seats', 'The seats field must be at least 1.');
    if (blank(l.category_id)) add('category_id', 'The category id field is required.');
    else if (!this.categories.has(Number(l.category_id))) add('category_id', 'The selected category id is invalid.');
    for (const f of ['expiration_date', 'termination_date'] as const) {
      if (!blank(l[f]) && !isYmd(l[f])) add(f, `The ${f.replace('_', ' ')} field must match the format Y-m-d.`);
    }
    return Object.keys(e).length ? e : undefined;
  }

  /** License::fill: $fillable fields only, empty strings as null (ConvertEmptyStringsToNull), strings trimmed (TrimStrings). */
  private fill(l: SimLicense, input: Record<string, unknown>): Record<string, unknown> {
    const echo: Record<string, unknown> = {};
    for (const f of FILLABLE) {
      if (!(f in input)) continue;
      let v = input[f];
      if (typeof v === 'string') v = v.trim();
      if (v === '') v = null;
      echo[f] = v;
      if (f === 'reassignable' || f === 'maintained') (l as any)[f] = v === true || v === 1 || v === '1' || v === 'true';
      else if (f in l) (l as any)[f] = v;
    }
    return echo;
  }

  /** adjustSeatCount: false when too few seats are free for a reduction (nothing changes then). */
  private adjustSeats(l: SimLicense, to: number): boolean {
    const rows = this.seatsOf(l.id);
    if (to === rows.length) return true;
    const ts = stamp(this.now());
    if (to > rows.length) {
      for (let i = rows.length; i < to; i++) {
        const id = this.next.seat++;
        const seat: SimSeat = { id, license_id: l.id, assigned_to: null, asset_id: null, notes: null, created_at: ts, updated_at: ts, deleted_at: null };
        this.seats.set(id, seat);
        (this.seatRows.get(l.id) ?? this.seatRows.set(l.id, []).get(l.id)!).push(seat);
      }
      return true;
    }
    const free = rows.filter((s) => s.assigned_to === null && s.asset_id === null);
    const drop = rows.length - to;
    if (drop > free.length) return false;
    for (const s of free.slice(free.length - drop)) s.deleted_at = ts;
    return true;
  }

  createLicense(input: Record<string, unknown>): WriteOutcome {
    const ts = stamp(this.now());
    const l: SimLicense = {
      id: 0, name: '', seats: 0, category_id: null, manufacturer_id: null, expiration_date: null, termination_date: null,
      serial: null, notes: null, reassignable: true, maintained: false, created_at: ts, updated_at: ts, deleted_at: null,
    };
    const echo = this.fill(l, input);
    const errors = this.validate(l);
    if (errors) return { ok: false, messages: errors };
    l.seats = asInteger(l.seats)!;
    l.category_id = Number(l.category_id);
    l.manufacturer_id = blank(l.manufacturer_id) ? null : Number(l.manufacturer_id);
    l.id = this.next.license++;
    this.licenses.set(l.id, l);
    this.adjustSeats(l, l.seats);
    return { ok: true, license: l, echo: { ...echo, updated_at: ts, created_at: ts, id: l.id } };
  }

  updateLicense(l: SimLicense, input: Record<string, unknown>): WriteOutcome {
    const draft = { ...l };
    const echo = this.fill(draft, input);
    const errors = this.validate(draft);
    if (errors) return { ok: false, messages: errors };
    draft.seats = asInteger(draft.seats)!;
    draft.category_id = Number(draft.category_id);
    draft.manufacturer_id = blank(draft.manufacturer_id) ? null : Number(draft.manufacturer_id);
    // the `updating` hook: a refused seat reduction aborts the save, and the API says no more than that
    if (!this.adjustSeats(l, draft.seats)) return { ok: false, messages: [] };
    Object.assign(l, draft, { updated_at: stamp(this.now()) });
    return { ok: true, license: l, echo: { ...l, ...echo } };
  }

  /** destroy(): the assoc_users message while seats are checked out, else soft delete with the seats. */
  deleteLicense(l: SimLicense): { ok: true } | { ok: false; message: string } {
    if (this.assignedSeats(l.id) > 0) {
      return { ok: false, message: 'This license is currently checked out to a user and cannot be deleted. Please check the license in first, and then try deleting again. ' };
    }
    const ts = stamp(this.now());
    for (const s of this.seatsOf(l.id)) s.deleted_at = ts;
    l.deleted_at = ts;
    return { ok: true };
  }

  /** Seat PATCH: checkout / checkin / no-op; "Target not found" for unknown users or assets. */
  updateSeat(seat: SimSeat, input: Record<string, unknown>): { ok: true; echo: Record<string, unknown> } | { ok: false; message: string } {
    const draft = { ...seat };
    for (const f of ['assigned_to', 'asset_id', 'notes'] as const) if (f in input) (draft as any)[f] = input[f] === '' ? null : input[f];
    const touched = draft.assigned_to !== seat.assigned_to || draft.asset_id !== seat.asset_id;
    // the raw model echoes what was filled, as sent (form fields as strings), with ISO timestamps
    const echo = () => ({ ...seat, ...pick(input, ['assigned_to', 'asset_id', 'notes']), user_id: 1, created_at: iso(seat.created_at), updated_at: iso(seat.updated_at) });
    if (!touched) return { ok: true, echo: echo() };
    const checkin = draft.assigned_to === null && draft.asset_id === null;
    if (!checkin) {
      const asset = draft.asset_id !== seat.asset_id && draft.asset_id !== null ? this.assets.get(Number(draft.asset_id)) : 'unchanged';
      const user = draft.assigned_to !== seat.assigned_to && draft.assigned_to !== null ? this.users.get(Number(draft.assigned_to)) : 'unchanged';
      if (asset === undefined || user === undefined) return { ok: false, message: 'Target not found' };
    }
    Object.assign(seat, draft, {
      assigned_to: draft.assigned_to === null ? null : Number(draft.assigned_to),
      asset_id: draft.asset_id === null ? null : Number(draft.asset_id),
      updated_at: stamp(this.now()),
    });
    return { ok: true, echo: echo() };
  }

  // ------------------------------------------------------------ transformers

  private related(map: Map<number, SimNamed>, id: number | null): { id: number; name: string } | null {
    const r = id === null ? undefined : map.get(id);
    return r ? { id: r.id, name: escapeName(r.name) } : null;
  }

  /** LicensesTransformer::transformLicense for an admin (viewKeys allowed). */
  licenseRow(l: SimLicense): Record<string, unknown> {
    const free = this.freeSeats(l.id);
    return {
      id: l.id,
      name: escapeName(l.name),
      company: null,
      manufacturer: this.related(this.manufacturers, l.manufacturer_id),
      product_key: escapeName(l.serial ?? ''),
      order_number: null,
      purchase_order: null,
      purchase_date: null,
      termination_date: dateObject(l.termination_date),
      depreciation: null,
      purchase_cost: null,
      purchase_cost_numeric: null,
      notes: l.notes,
      expiration_date: dateObject(l.expiration_date),
      seats: l.seats,
      free_seats_count: free,
      remaining: free,
      min_amt: null,
      license_name: null,
      license_email: null,
      reassignable: l.reassignable,
      maintained: l.maintained,
      supplier: null,
      category: this.related(this.categories, l.category_id),
      created_by: { id: 1, name: 'Admin User' },
      created_at: datetimeObject(l.created_at),
      updated_at: datetimeObject(l.updated_at),
      deleted_at: l.deleted_at ? datetimeObject(l.deleted_at) : null,
      user_can_checkout: free > 0,
      available_actions: { checkout: true, checkin: true, clone: true, update: true, delete: free > 0 },
    };
  }

  /** LicenseSeatsTransformer::transformLicenseSeat, with the `name` ("Seat n") of the 8.2 reference. */
  seatRow(s: SimSeat, n: number): Record<string, unknown> {
    const user = s.assigned_to === null ? undefined : this.users.get(s.assigned_to);
    const asset = s.asset_id === null ? undefined : this.assets.get(s.asset_id);
    const l = this.licenses.get(s.license_id)!;
    return {
      id: s.id,
      license_id: s.license_id,
      updated_at: datetimeObject(s.updated_at),
      assigned_user: user ? { id: user.id, name: escapeName(user.name), email: escapeName(user.email), department: null, created_at: datetimeObject(s.created_at) } : null,
      assigned_asset: asset ? { id: asset.id, name: escapeName(asset.name), created_at: datetimeObject(s.created_at) } : null,
      location: null,
      reassignable: l.reassignable,
      notes: escapeName(s.notes ?? ''),
      user_can_checkout: s.assigned_to === null && s.asset_id === null,
      name: `Seat ${n}`,
      available_actions: { checkout: true, checkin: true, clone: true, update: true, delete: true },
    };
  }

  /** CategoriesTransformer (the fields clients use): category_type as its translated label. */
  categoryRow(c: SimCategory): Record<string, unknown> {
    const count = [...this.licenses.values()].filter((l) => !l.deleted_at && l.category_id === c.id).length;
    return { id: c.id, name: escapeName(c.name), image: null, category_type: CATEGORY_LABEL[c.category_type], has_eula: false, use_default_eula: false, eula: null, item_count: c.category_type === 'license' ? count : 0 };
  }

  /** ManufacturersTransformer (the fields clients use). */
  manufacturerRow(m: SimNamed): Record<string, unknown> {
    const count = [...this.licenses.values()].filter((l) => !l.deleted_at && l.manufacturer_id === m.id).length;
    return { id: m.id, name: escapeName(m.name), url: '', image: null, support_url: '', support_phone: '', support_email: '', licenses_count: count };
  }
}

/** Helper::getFormattedDateObject($d, 'date'). */
function dateObject(d: string | null): { date: string; formatted: string } | null {
  return d ? { date: d, formatted: d } : null;
}

/** Helper::getFormattedDateObject($d, 'datetime'), with the "Y-m-d h:i A" display format of the corpus. */
function datetimeObject(d: string): { datetime: string; formatted: string } {
  const [day, time] = d.split(' ');
  const [h, m] = time.split(':').map(Number);
  return { datetime: d, formatted: `${day} ${String(h % 12 || 12).padStart(2, '0')}:${String(m).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}` };
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** A raw model's timestamp as Laravel serialises it (ISO 8601 with microseconds). */
function iso(d: string): string {
  return `${d.replace(' ', 'T')}.000000Z`;
}
