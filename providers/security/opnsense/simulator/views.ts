/**
 * How the simulated OPNsense renders its model, in the shapes a live
 * appliance answers with (checked against /work/shared/corpus/opnsense by
 * test/security/opnsense-sim.test.ts):
 * - searchRule rows: flat raw values, `uuid` first, `%field` display values
 *   after statetype/action/interface/direction/ipprotocol, `category_colors`,
 *   and `alias_meta_<field>` for non-empty address and port fields
 *   (lib-opnsense/26.1.9/fw-filter-rule__search.json); in 26.7 the automatic
 *   rules are merged in, with JSON booleans and 32-hex ids
 *   (lib-opnsense/26.7/fw-filter-rule__search.json);
 * - searchItem rows (lib-opnsense/26.7/fw-alias__search.json), key order
 *   `{rows, rowCount, total, current}`;
 * - getRule/getItem: option fields as `{key: {value, selected}}` maps
 *   (lib-opnsense/26.1.9/fw-filter-rule__schema.json, 26.7/fw-alias__schema.json);
 * - firmware status (lib-opnsense/<version>/core-firmware-status__global.json):
 *   `product.product_version` always, the top-level `product_version` only
 *   after an update check (as in the 26.1.9 recording, not in the 26.7 one).
 */
import { ALIAS_TYPES, RULE_PROTOCOLS } from '../vocabulary.js';
import { RULE_DEFAULTS, sortOrder, type Fields, type Firmware, type OpnsenseModel } from './model.js';

const ACTION = { pass: 'Pass', block: 'Block', reject: 'Reject' } as const;
const DIRECTION = { in: 'In', out: 'Out', any: 'Both' } as const;
const IPPROTO = { inet: 'IPv4', inet6: 'IPv6', inet46: 'any' } as const;
const STATETYPE = { keep: 'keep state', sloppy: 'sloppy state', modulate: 'modulate state', synproxy: 'synproxy state', none: 'no state' } as const;
const STATE_POLICY = { '': 'default', 'if-bound': 'Bind states to interface', floating: 'Floating states' } as const;
export const ALIAS_TYPE_LABELS: Record<string, string> = {
  host: 'Host(s)', network: 'Network(s)', port: 'Port(s)', url: 'URL (IPs)', urltable: 'URL Table (IPs)', urljson: 'URL Table in JSON format (IPs)',
  geoip: 'GeoIP', networkgroup: 'Network group', mac: 'MAC address', asn: 'BGP ASN', dynipv6host: 'Dynamic IPv6 Host', authgroup: 'OpenVPN group',
  internal: 'Internal (automatic)', external: 'External (advanced)',
};
const DISPLAY_AFTER: Record<string, (r: Fields, ifLabel: (i: string) => string) => string> = {
  statetype: (r) => STATETYPE[r.statetype as keyof typeof STATETYPE] ?? r.statetype,
  action: (r) => ACTION[r.action as keyof typeof ACTION] ?? r.action,
  interface: (r, l) => r.interface.split(',').filter(Boolean).map(l).join(', '),
  direction: (r) => DIRECTION[r.direction as keyof typeof DIRECTION] ?? r.direction,
  ipprotocol: (r) => IPPROTO[r.ipprotocol as keyof typeof IPPROTO] ?? r.ipprotocol,
};
const META_FIELDS = ['source_net', 'source_port', 'destination_net', 'destination_port'];

export function interfaceLabel(i: string): string {
  return i.toUpperCase();
}

function aliasMeta(model: OpnsenseModel, value: string): Record<string, unknown>[] {
  return value.split(',').map((v) => {
    const a = [...model.config.aliases.values()].find((x) => x.name === v);
    if (!a) return { value: v, '%value': v === '(self)' ? 'This Firewall' : v, isAlias: false, description: '' };
    const entries = a.content.split('\n').filter(Boolean);
    const shown = entries.slice(0, 10).join('<br/>') + (entries.length > 10 ? '<br/>[...]' : '');
    return { summary: `<strong>${a.description}</strong><br/>${shown}`, description: a.description, value: v, '%value': v, isAlias: true };
  });
}

export function ruleRow(model: OpnsenseModel, uuid: string, r: Fields): Record<string, unknown> {
  const row: Record<string, unknown> = { uuid };
  for (const k of Object.keys(RULE_DEFAULTS)) {
    row[k] = k === 'sort_order' ? sortOrder(r) : r[k];
    const display = DISPLAY_AFTER[k];
    if (display) row[`%${k}`] = display(r, interfaceLabel);
  }
  row.category_colors = [];
  for (const f of META_FIELDS) if (r[f] !== '') row[`alias_meta_${f}`] = aliasMeta(model, r[f]);
  return row;
}

/** The automatic rules 26.7 merges into searchRule (not MVC rules: no dashes in the id, booleans and numbers as JSON). */
export function automaticRuleRows(): Record<string, unknown>[] {
  return [
    {
      log: true, disablereplyto: 1, ipprotocol: 'inet46', quick: false, '#priority': 1, enabled: '1', action: 'block', replyto: '',
      description: 'Default deny / state violation rule', source_net: '', source_port: '', destination_net: '', destination_port: '', ref: '',
      uuid: '02f4bab031b57d1e30553ce08e0ec131', direction: 'in', '%direction': 'In', '%action': 'Block', '%ipprotocol': '', protocol: '', '%protocol': '',
      sort_order: '000001.1000001', legacy: true, is_automatic: true, category_colors: [],
    },
    {
      log: false, disablereplyto: 1, ipprotocol: 'inet46', quick: true, '#priority': 1, enabled: '1', action: 'pass', replyto: '',
      description: 'let out anything from firewall host itself', source_net: '(self)', source_port: '', destination_net: '', destination_port: '', ref: '',
      uuid: '9e1b2f0c2f5e4a47a1c4d7b6e3f80a11', direction: 'out', '%direction': 'Out', '%action': 'Pass', '%ipprotocol': '', protocol: '', '%protocol': '',
      sort_order: '000001.1000010', legacy: true, is_automatic: true, category_colors: [],
      alias_meta_source_net: [{ value: '(self)', '%value': 'This Firewall', isAlias: false, description: '' }],
    },
  ];
}

/** The volatile statistics fields of Alias.xml, in model order (between categories and description). */
const ALIAS_STATS = ['current_items', 'last_updated', 'eval_nomatch', 'eval_match', 'in_block_p', 'in_block_b', 'in_pass_p', 'in_pass_b', 'out_block_p', 'out_block_b', 'out_pass_p', 'out_pass_b'];

export function aliasRow(uuid: string, a: Fields): Record<string, unknown> {
  const stats: Record<string, string> = Object.fromEntries(ALIAS_STATS.map((k) => [k, k === 'last_updated' ? '' : '0']));
  stats.current_items = String(a.content.split('\n').filter(Boolean).length);
  return {
    uuid,
    enabled: a.enabled,
    name: a.name,
    type: a.type,
    '%type': ALIAS_TYPE_LABELS[a.type] ?? a.type,
    path_expression: a.path_expression,
    proto: a.proto,
    interface: a.interface,
    counters: a.counters,
    updatefreq: a.updatefreq,
    // the grid shows the content's entries separated by commas
    content: a.content.split('\n').filter(Boolean).join(','),
    password: a.password,
    username: a.username,
    authtype: a.authtype,
    expire: a.expire,
    categories: a.categories,
    ...stats,
    description: a.description,
    categories_uuid: [],
  };
}

/** Search paging as UIModelGrid does it: rowCount -1 = all, current 1-based, searchPhrase over the shown values. */
export function page<T extends Record<string, unknown>>(rows: T[], q: { current?: string; rowCount?: string; searchPhrase?: string; sort?: Record<string, string> }): { rows: T[]; rowCount: number; total: number; current: number } {
  let list = rows;
  const phrase = (q.searchPhrase ?? '').toLowerCase();
  if (phrase) list = list.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.toLowerCase().includes(phrase)));
  const [sortField, dir] = Object.entries(q.sort ?? {})[0] ?? [];
  if (sortField) list = [...list].sort((a, b) => String(a[sortField] ?? '').localeCompare(String(b[sortField] ?? ''), undefined, { numeric: true }) * (dir === 'desc' ? -1 : 1));
  const rowCount = q.rowCount === undefined ? 9999 : Number(q.rowCount);
  const current = Math.max(1, Number(q.current ?? 1) || 1);
  const slice = rowCount === -1 ? list : list.slice((current - 1) * rowCount, current * rowCount);
  return { rows: slice, rowCount: rowCount === -1 ? slice.length : slice.length, total: list.length, current };
}

const options = (labels: Record<string, string>, selected: string[]) =>
  Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, { value: v, selected: selected.includes(k) ? 1 : 0 }]));

/** getRule: option fields as maps with `selected`, the rest as stored; `categories` a plain list. */
export function ruleView(r: Fields, interfaces: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(RULE_DEFAULTS)) out[k] = r[k];
  out.action = options(ACTION, [r.action]);
  out.direction = options(DIRECTION, [r.direction]);
  out.ipprotocol = options(IPPROTO, [r.ipprotocol]);
  out.statetype = options(STATETYPE, [r.statetype]);
  out['state-policy'] = options(STATE_POLICY, [r['state-policy']]);
  out.interface = options(Object.fromEntries(interfaces.map((i) => [i, interfaceLabel(i)])), r.interface.split(','));
  out.protocol = options(Object.fromEntries(RULE_PROTOCOLS.map((p) => [p, p])), [r.protocol]);
  out.categories = [];
  return out;
}

export function aliasView(a: Fields, model: OpnsenseModel): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const e of a.content.split('\n').filter(Boolean)) content[e] = { value: e, selected: 1, description: '' };
  for (const x of model.config.aliases.values()) if (!(x.name in content)) content[x.name] = { selected: 0, value: x.name, description: x.description };
  const { description, ...fields } = a;
  const stats = Object.fromEntries(ALIAS_STATS.map((k) => [k, '']));
  return {
    ...fields,
    ...stats,
    description,
    type: options(Object.fromEntries(ALIAS_TYPES.map((t) => [t, ALIAS_TYPE_LABELS[t]])), [a.type]),
    proto: options({ IPv4: 'IPv4', IPv6: 'IPv6' }, a.proto.split(',')),
    interface: options({ '': 'None', ...Object.fromEntries(model.o.interfaces.map((i) => [i, interfaceLabel(i)])) }, [a.interface]),
    content,
    categories: [],
  };
}

/** GET /api/core/firmware/status as the recorded appliances answer it. */
export function firmwareStatus(firmware: Firmware): Record<string, unknown> {
  const version = firmware === '26.1' ? '26.1.9' : '26.7';
  const nickname = firmware === '26.1' ? 'Witty Woodpecker' : 'Xenial Xenops';
  const product: Record<string, unknown> = {
    CORE_ABI: firmware, CORE_ARCH: 'amd64', CORE_NAME: 'opnsense', CORE_NEXT: firmware === '26.1' ? '26.7' : '27.1', CORE_NICKNAME: nickname,
    CORE_PKGVERSION: version, CORE_PRODUCT: 'OPNsense', CORE_SERIES: firmware, CORE_VERSION: version,
    product_abi: firmware, product_arch: 'amd64', product_check: null, product_id: 'opnsense', product_latest: version, product_license: [],
    product_log: 0, product_name: 'OPNsense', product_nickname: nickname, product_series: firmware, product_tier: '1', product_version: version,
    product_website: 'https://opnsense.org/',
  };
  if (firmware === '26.7') return { product, status_msg: 'Firmware status requires to check for update first to provide more information.', status: 'none' };
  return {
    api_version: '2', connection: 'ok', last_check: 'Thu Jun  4 21:22:01 CEST 2026', needs_reboot: '0', os_version: 'FreeBSD 14.3-RELEASE-p14',
    product_id: 'opnsense', product_target: 'opnsense', product_version: version, product_abi: firmware, repository: 'ok',
    product, all_packages: [], all_sets: [], status_msg: 'There are no updates available on the selected mirror.', status: 'none',
  };
}
