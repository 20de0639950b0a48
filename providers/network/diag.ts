/** Diagnostics positioned at a value of a manifest document (`res.positions`). */
export { posOf, diagnosticAt as diag } from '../../engine/positions.js';
