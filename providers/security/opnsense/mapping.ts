/**
 * Between OPNsense's flat rule and alias fields (every value a string,
 * lists comma- or newline-separated) and the states the kinds declare
 * (providers/security/kinds.ts). Reads take searchRule/searchItem rows;
 * writes send the flat strings setRule/setItem take.
 */

/** A row or field set as OPNsense has it. */
export type Row = Record<string, unknown>;

export type RuleState = {
  sequence: number;
  interface: string[];
  direction: string;
  action: string;
  quick: boolean;
  protocol: string;
  ipProtocol: string;
  source: string[];
  sourceNot: boolean;
  sourcePort: string;
  destination: string[];
  destinationNot: boolean;
  destinationPort: string;
  log: boolean;
  enabled: boolean;
  description: string;
};

export type AliasState = {
  type: string;
  content: string[];
  description: string;
  enabled: boolean;
};

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const list = (v: unknown, sep: RegExp) => str(v).split(sep).map((x) => x.trim()).filter(Boolean);
const flag = (v: unknown) => v === '1' || v === 1 || v === true;
/** PortField stores `any` for "no port" when a user picks it. */
const port = (v: unknown) => (str(v) === 'any' ? '' : str(v));

/** Rules einklang can manage: MVC rules (dashed UUIDs). Automatic and legacy rows (26.7 merges them in) are the firewall's own. */
export function isMvcRule(row: Row): boolean {
  return row.legacy !== true && row.is_automatic !== true && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(str(row.uuid));
}

/** Aliases einklang can manage: not the firewall's own tables (bogons, __lan_network, ...: their ids are their names). */
export function isUserAlias(row: Row): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(str(row.uuid)) && row.type !== 'internal';
}

export function ruleState(row: Row): RuleState {
  return {
    sequence: Number(row.sequence),
    interface: list(row.interface, /,/).sort(),
    direction: str(row.direction),
    action: str(row.action),
    quick: flag(row.quick),
    protocol: str(row.protocol),
    ipProtocol: str(row.ipprotocol),
    source: list(row.source_net, /,/).sort(),
    sourceNot: flag(row.source_not),
    sourcePort: port(row.source_port),
    destination: list(row.destination_net, /,/).sort(),
    destinationNot: flag(row.destination_not),
    destinationPort: port(row.destination_port),
    log: flag(row.log),
    enabled: flag(row.enabled),
    description: str(row.description),
  };
}

const bit = (b: unknown) => (b === true ? '1' : '0');

/** The setRule body for a state (every field einklang manages; the rest keep their values on the firewall). */
export function ruleFields(s: RuleState): Record<string, string> {
  return {
    enabled: bit(s.enabled),
    sequence: String(s.sequence),
    action: s.action,
    quick: bit(s.quick),
    interface: s.interface.join(','),
    direction: s.direction,
    ipprotocol: s.ipProtocol,
    protocol: s.protocol,
    source_net: s.source.join(','),
    source_not: bit(s.sourceNot),
    source_port: s.sourcePort,
    destination_net: s.destination.join(','),
    destination_not: bit(s.destinationNot),
    destination_port: s.destinationPort,
    log: bit(s.log),
    description: s.description,
  };
}

export function aliasState(row: Row): AliasState {
  return {
    type: str(row.type),
    // setItem takes newlines; the search grid shows the entries separated by commas
    content: list(row.content, /[\n,]/).sort(),
    description: str(row.description),
    enabled: flag(row.enabled),
  };
}

export function aliasFields(name: string, s: AliasState): Record<string, string> {
  return { enabled: bit(s.enabled), name, type: s.type, content: s.content.join('\n'), description: s.description };
}

/** OPNsense field names (validation keys `rule.source_net`) as the manifest calls them. */
const MANIFEST_NAMES: Record<string, string> = {
  source_net: 'source',
  source_not: 'sourceNot',
  source_port: 'sourcePort',
  destination_net: 'destination',
  destination_not: 'destinationNot',
  destination_port: 'destinationPort',
  ipprotocol: 'ipProtocol',
};

/** `rule.source_net` -> `source (rule.source_net)`. */
export function manifestField(validationKey: string): string {
  const field = validationKey.split('.').pop() ?? validationKey;
  const mine = MANIFEST_NAMES[field] ?? field;
  return mine === validationKey ? mine : `${mine} (${validationKey})`;
}

/** A search row back into the fields setRule/setItem take (for restoring a snapshot): display values and statistics dropped. */
export function writableFields(row: Row, skip: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'uuid' || k.startsWith('%') || k.startsWith('alias_meta_') || skip.includes(k) || typeof v === 'object') continue;
    out[k] = str(v);
  }
  return out;
}

/** Fields of rule rows that are computed or shown, never written. */
export const RULE_VOLATILE = ['sort_order', 'prio_group', 'category_colors'] as const;
/** Alias row statistics and display fields. */
export const ALIAS_VOLATILE = [
  'current_items', 'last_updated', 'eval_nomatch', 'eval_match', 'in_block_p', 'in_block_b', 'in_pass_p', 'in_pass_b', 'out_block_p', 'out_block_b', 'out_pass_p', 'out_pass_b', 'categories_uuid',
] as const;
