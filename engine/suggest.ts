/**
 * "Did you mean ...?" for a misspelt kind, field, enum value or reference.
 *
 * The distance is Levenshtein's, from `fastest-levenshtein` (maintained, no
 * dependencies), compared without case so that `vlan` finds `Vlan`. A
 * candidate is offered only when it is close for the word's length (at most
 * two edits (one for words of up to three letters), or 40% of the longer word for long names such as
 * `rsw-core1` -> `rz-core-01`), so a word that resembles nothing gets no
 * suggestion rather than a wrong one. The library loads on the first
 * suggestion: a valid run never needs it.
 */
import { createRequire } from 'node:module';

type Levenshtein = typeof import('fastest-levenshtein');
let lib: Levenshtein | undefined;
const levenshtein = (): Levenshtein => (lib ??= createRequire(import.meta.url)('fastest-levenshtein') as Levenshtein);

/** How many edits still make `a` a plausible misspelling of `b` (one for words of up to three letters). */
function tolerance(a: string, b: string): number {
  const longer = Math.max(a.length, b.length);
  return longer <= 3 ? 1 : Math.max(2, Math.floor(0.4 * longer));
}

/** The candidate closest to `word` if it is close enough (never `word` itself). */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of new Set(candidates)) {
    if (c === word) continue;
    const d = c.toLowerCase() === w ? 0 : levenshtein().distance(w, c.toLowerCase());
    if (d <= tolerance(w, c) && d < w.length && d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** `; did you mean "x"?` for appending to a message, or '' for no suggestion. */
export function meanHint(suggestion: string | undefined, quote = true): string {
  return suggestion === undefined ? '' : `; did you mean ${quote ? JSON.stringify(suggestion) : suggestion}?`;
}

/** meanHint of the closest candidate. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = true): string {
  return meanHint(closestMatch(word, candidates), quote);
}

/** The allowed key a key outside `allowed` was probably meant to be (one not already written in `obj`). */
export function misspeltKey(key: string, allowed: Iterable<string>, obj: object): string | undefined {
  return closestMatch(key, [...allowed].filter((k) => !Object.prototype.hasOwnProperty.call(obj, k)));
}
