/**
 * Snipe-IT's wire format for licenses, manufacturers and categories, as the
 * driver reads it and the simulator writes it. Sources: snipe/snipe-it
 * v8.1.4 (commit 5aa5c48, 2025-05-23) and /work/shared/corpus/snipeit/.
 *
 * Quirks both sides must agree on:
 * - Read answers (transformers) HTML-escape every name with Laravel's `e()`
 *   (htmlspecialchars, ENT_QUOTES): `Tom & Jerry` reads back as
 *   `Tom &amp; Jerry`, `13"` as `13&quot;` (corpus hardware_get.json shows
 *   `"Macbook Pro 13&quot;"`). Writes take plain text. `decodeName` is the
 *   exact inverse of `e()`.
 * - Dates read as `{"date":"Y-m-d","formatted":...}` or null
 *   (Helper::getFormattedDateObject); written as plain `Y-m-d`.
 * - A category's `category_type` reads as a translated label ("License");
 *   filter with the raw value (`?category_type=license`).
 * - Lists are `{"total":N,"rows":[...]}` (DatatablesTransformer); a single
 *   object (`GET /licenses/{id}`) is not wrapped.
 */

/** `{id, name}` of a related object, or null. */
export type Related = { id: number; name: string } | null;

/** A license as GET /api/v1/licenses lists it (LicensesTransformer), the fields einklang reads. */
export interface LicenseRow {
  id: number;
  name: string;
  seats: number;
  free_seats_count: number;
  expiration_date: { date: string; formatted: string } | null;
  manufacturer: Related;
  category: Related;
}

/** A manufacturer or category row, the fields einklang reads. */
export interface NamedRow {
  id: number;
  name: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#039;' };
const UNESCAPES: Record<string, string> = Object.fromEntries(Object.entries(ESCAPES).map(([k, v]) => [v, k]));

/** Laravel's `e()`: htmlspecialchars(ENT_QUOTES | ENT_SUBSTITUTE, double_encode). */
export function escapeName(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The inverse of `e()`: only the five entities it writes, in one pass (a literal `&amp;` written by a user comes back intact). */
export function decodeName(s: string): string {
  return s.replace(/&(?:amp|lt|gt|quot|#039);/g, (m) => UNESCAPES[m]);
}

/** Seats checked out (to a user or an asset): Snipe-IT lists only the free ones. */
export function assignedSeats(row: Pick<LicenseRow, 'seats' | 'free_seats_count'>): number {
  return Math.max(0, Number(row.seats) - Number(row.free_seats_count));
}
