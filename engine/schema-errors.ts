/**
 * ajv's errors for a spec, turned into one diagnostic per problem, worded for
 * the person who wrote the manifest.
 *
 * - `oneOf`/`anyOf`: ajv reports every branch's failures plus the
 *   alternative itself (a string where a list or a selector is allowed gives
 *   three lines). Only the branch the value comes closest to is kept: the
 *   branch whose type the value has, with the fewest errors; when the value
 *   has none of the branches' types, one line says which forms are allowed.
 * - `pattern`: the schema's `description` (what is allowed) and its
 *   `examples` instead of the regular expression. The value is not repeated:
 *   a literal password belongs in no CI log.
 * - unknown field: "did you mean" among the fields the schema allows there
 *   (not already written); when that field is also reported missing, the
 *   missing-field error is the same mistake and is dropped.
 * - `enum`: "did you mean" among the allowed values.
 *
 * The schema text is the same file the validator was compiled from
 * (schema-validators.ts), so `schemaPath` points into it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { schemasDir } from './paths.js';
import { pointerSegment } from './diff.js';
import { didYouMean, meanHint, misspeltKey } from './suggest.js';

export interface SchemaProblem {
  /** JSON pointer from the document root (`/spec/...`). */
  pointer: string;
  message: string;
  /** Point at the key rather than the value (unknown and missing fields). */
  key: boolean;
}

type Schema = Record<string, any>;

const schemas = new Map<string, Schema>();

function schemaOf(path: string): Schema {
  let s = schemas.get(path);
  if (!s) schemas.set(path, (s = JSON.parse(readFileSync(join(schemasDir, path), 'utf8')) as Schema));
  return s;
}

function unescapeSegment(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The node at a JSON pointer (`#/properties/x` or `/x/0`), or undefined. */
function at(root: unknown, pointer: string): any {
  let node: any = root;
  for (const seg of pointer.replace(/^#/, '').split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[unescapeSegment(seg)];
  }
  return node;
}

/** The schema node that holds the failing keyword (`.../properties/a/pattern` -> the node of `a`). */
function parentSchema(schema: Schema, e: ErrorObject): Schema | undefined {
  return at(schema, e.schemaPath.slice(0, e.schemaPath.lastIndexOf('/')));
}

const fieldName = (instancePath: string) => (instancePath ? instancePath.split('/').slice(1).map(unescapeSegment).join('.') : 'spec');

const TYPE_WORDS: Record<string, string> = { array: 'a list', object: 'a mapping', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'null' };

function typeWords(type: unknown): string {
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

/** How one branch of an alternative reads: "a list", "a mapping with matchLabels". */
function branchForm(b: Schema | undefined): string {
  if (!b) return 'another form';
  if (b.type === undefined) return b.description ?? 'another form';
  const required = b.type === 'object' && Array.isArray(b.required) && b.required.length ? ` with ${b.required.join(', ')}` : '';
  return typeWords(b.type) + required;
}

function examplesOf(node: Schema | undefined): string {
  const ex = node?.examples;
  return Array.isArray(ex) && ex.length ? ` (for example ${ex.slice(0, 2).map((x) => JSON.stringify(x)).join(' or ')})` : '';
}

/** Keeps, of each oneOf/anyOf, the errors of the branch the value comes closest to (see the header). */
function reduceAlternatives(errors: ErrorObject[], schema: Schema): ErrorObject[] {
  let kept = errors.filter((e) => e.keyword !== 'if');
  const alternatives = kept.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const alt of alternatives) {
    if (!kept.includes(alt)) continue; // inside a branch already dropped
    const prefix = alt.schemaPath + '/';
    const branches = new Map<string, ErrorObject[]>();
    for (const e of kept) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const i = e.schemaPath.slice(prefix.length).split('/')[0];
      (branches.get(i) ?? branches.set(i, []).get(i)!).push(e);
    }
    if (!branches.size) continue; // several branches passed: ajv's own message says so
    const typeMismatch = (i: string, errs: ErrorObject[]) => errs.some((e) => e.keyword === 'type' && e.instancePath === alt.instancePath && e.schemaPath === `${prefix}${i}/type`);
    const candidates = [...branches].filter(([i, errs]) => !typeMismatch(i, errs)).sort((a, b) => a[1].length - b[1].length);
    const inAlternative = new Set([alt, ...[...branches.values()].flat()]);
    kept = kept.filter((e) => !inAlternative.has(e));
    if (candidates.length) {
      kept.push(...candidates[0][1]);
      continue;
    }
    const node = at(schema, alt.schemaPath.slice(0, alt.schemaPath.lastIndexOf('/'))) as Schema | undefined;
    const forms = ((at(schema, alt.schemaPath) as Schema[] | undefined) ?? []).map(branchForm);
    const described = node?.description ? ` (${String(node.description).replace(/\.$/, '')})` : '';
    kept.push({ ...alt, keyword: 'x-forms', message: `must be ${[...new Set(forms)].join(' or ')}${described}` });
  }
  return kept;
}

/** Diagnostics (pointer, wording) for ajv's errors of one spec. */
export function schemaProblems(schemaPath: string, errors: ErrorObject[], spec: unknown): SchemaProblem[] {
  const schema = schemaOf(schemaPath);
  const reduced = reduceAlternatives(errors, schema);
  const out: SchemaProblem[] = [];
  const covered = new Set<string>(); // `${instancePath}\0${missing field}` already explained by a misspelt field
  for (const e of reduced) {
    if (e.keyword !== 'additionalProperties') continue;
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    const suggestion = misspeltKey(extra, Object.keys(parentSchema(schema, e)?.properties ?? {}), (at(spec, e.instancePath) as object) ?? {});
    if (suggestion !== undefined) covered.add(`${e.instancePath}\u0000${suggestion}`);
    out.push({ pointer: '/spec' + e.instancePath + '/' + pointerSegment(extra), message: `unknown field ${JSON.stringify(extra)} in ${fieldName(e.instancePath)}${meanHint(suggestion)}`, key: true });
  }
  for (const e of reduced) {
    const pointer = '/spec' + e.instancePath;
    const field = fieldName(e.instancePath);
    switch (e.keyword) {
      case 'additionalProperties':
        break;
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        if (!covered.has(`${e.instancePath}\u0000${missing}`)) out.push({ pointer, message: `${field} is missing required field ${JSON.stringify(missing)}`, key: true });
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
        const v = at(spec, e.instancePath);
        const hint = typeof v === 'string' ? didYouMean(v, allowed.filter((x): x is string => typeof x === 'string')) : '';
        out.push({ pointer, message: `${field} must be one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}${hint}`, key: false });
        break;
      }
      case 'type':
        out.push({ pointer, message: `${field} must be ${typeWords((e.params as { type: unknown }).type)}`, key: false });
        break;
      case 'pattern': {
        const node = parentSchema(schema, e);
        const what = node?.description ? `: ${String(node.description)}` : ` (it must match ${(e.params as { pattern: string }).pattern})`;
        out.push({ pointer, message: `${field} is not in the allowed form${what}${examplesOf(node)}`, key: false });
        break;
      }
      case 'x-forms':
        out.push({ pointer, message: `${field} ${e.message}`, key: false });
        break;
      default:
        out.push({ pointer, message: `${field} ${e.message ?? 'is invalid'}`, key: false });
    }
  }
  return out;
}
