/**
 * OPNsense's own vocabulary for filter rules and aliases: the option lists
 * and limits of its models, as data. The kinds validate manifests against
 * them, and the simulator refuses what OPNsense refuses with them.
 *
 * Sources (read-only corpus /work/shared/corpus/opnsense, research/opnsense.md):
 * - rule options: models/26.1.11/Filter.xml (action, direction, ipprotocol,
 *   sequence 1..999999); protocol names: the `protocol` option keys of a live
 *   26.1.9 appliance (lib-opnsense/26.1.9/fw-filter-rule__schema.json);
 * - alias types: models/26.1.11/Alias.xml; alias name rules and the pf
 *   keywords it refuses: opnsense/core AliasNameField.php (regex
 *   `^([a-zA-Z]|([_a-zA-Z][a-zA-Z0-9][_a-zA-Z0-9]{0,29}))$`, reserved words);
 * - well-known port names: opnsense/core Base/FieldTypes/PortField.php
 *   ($wellknownservices); ranges are `low-high` with low < high.
 */

export const RULE_ACTIONS = ['pass', 'block', 'reject'] as const;
export const RULE_DIRECTIONS = ['in', 'out', 'any'] as const;
export const IP_PROTOCOLS = ['inet', 'inet6', 'inet46'] as const;
export const MIN_SEQUENCE = 1;
export const MAX_SEQUENCE = 999_999;

/** The `protocol` options of a live 26.1.9 appliance (its /etc/protocols, upper case, plus any and TCP/UDP). */
export const RULE_PROTOCOLS = [
  'any', 'TCP', 'UDP', 'TCP/UDP', 'ICMP', 'ESP', 'AH', 'GRE', 'IGMP', 'PIM', 'OSPF', '3PC', 'A/N', 'ARGUS', 'ARIS', 'AX.25',
  'BBN-RCC', 'BNA', 'BR-SAT-MON', 'CARP', 'CBT', 'CFTP', 'CHAOS', 'COMPAQ-PEER', 'CPHB', 'CPNX', 'CRTP', 'CRUDP', 'DCCP', 'DCN',
  'DDP', 'DDX', 'DGP', 'DIVERT', 'DSR', 'EGP', 'EIGRP', 'EMCON', 'ENCAP', 'ETHERIP', 'FC', 'GGP', 'GMTP', 'HIP', 'HMP',
  'I-NLSP', 'IATP', 'IDPR', 'IDPR-CMTP', 'IDRP', 'IFMP', 'IGP', 'IL', 'IPCOMP', 'IPCV', 'IPENCAP', 'IPIP', 'IPPC', 'IPV6',
  'IPV6-ICMP', 'IPX-IN-IP', 'IRTP', 'ISIS', 'ISO-IP', 'ISO-TP4', 'KRYPTOLAN', 'L2TP', 'LARP', 'LEAF-1', 'LEAF-2', 'MANET',
  'MERIT-INP', 'MFE-NSP', 'MICP', 'MOBILE', 'MPLS-IN-IP', 'MTP', 'MUX', 'NARP', 'NETBLT', 'NSFNET-IGP', 'NVP', 'PFSYNC',
  'PGM', 'PIPE', 'PNNI', 'PRM', 'PTP', 'PUP', 'PVP', 'QNX', 'RDP', 'ROHC', 'RSVP', 'RSVP-E2E-IGNORE', 'RVD', 'SAT-EXPAK',
  'SAT-MON', 'SCC-SP', 'SCPS', 'SCTP', 'SDRP', 'SECURE-VMTP', 'SHIM6', 'SKIP', 'SM', 'SMP', 'SNP', 'SPRITE-RPC', 'SPS',
  'SRP', 'ST2', 'STP', 'SUN-ND', 'SWIPE', 'TCF', 'TLSP', 'TP++', 'TRUNK-1', 'TRUNK-2', 'TTP', 'UDPLITE', 'UTI', 'VINES',
  'VISA', 'VMTP', 'WB-EXPAK', 'WB-MON', 'WESP', 'WSN', 'XNET', 'XNS-IDP', 'XTP',
] as const;

/** Protocols for which OPNsense accepts ports ("Source ports are only valid for tcp or udp type rules."). */
export const PORT_PROTOCOLS = ['TCP', 'UDP', 'TCP/UDP'] as const;

export const ALIAS_TYPES = [
  'host', 'network', 'port', 'url', 'urltable', 'urljson', 'geoip', 'networkgroup', 'mac', 'asn', 'dynipv6host', 'authgroup', 'internal', 'external',
] as const;

/** Alias types einklang creates (the others are filled by the firewall itself or need settings einklang does not manage). */
export const MANAGED_ALIAS_TYPES = ['host', 'network', 'port', 'url', 'urltable', 'geoip', 'networkgroup', 'mac', 'asn'] as const;

/** AliasNameField: a letter or one underscore first, at most 31 characters of letters, digits and underscores. */
export const ALIAS_NAME = /^([a-zA-Z]|([_a-zA-Z][a-zA-Z0-9][_a-zA-Z0-9]{0,29}))$/;

/** pf keywords AliasNameField refuses as names (sbin/pfctl/parse.y). */
export const RESERVED_ALIAS_NAMES = new Set([
  'all', 'allow-opts', 'altq', 'anchor', 'antispoof', 'any', 'bandwidth', 'binat', 'binat-anchor', 'bitmask', 'block', 'block-policy',
  'buckets', 'cbq', 'code', 'codelq', 'crop', 'debug', 'divert-reply', 'divert-to', 'drop', 'drop-ovl', 'dup-to', 'fail-policy',
  'fairq', 'fastroute', 'file', 'fingerprints', 'flags', 'floating', 'flush', 'for', 'fragment', 'from', 'global', 'group', 'hfsc',
  'hogs', 'hostid', 'icmp-type', 'icmp6-type', 'if-bound', 'in', 'include', 'inet', 'inet6', 'interval', 'keep', 'label', 'limit',
  'linkshare', 'load', 'log', 'loginterface', 'max', 'max-mss', 'max-src-conn', 'max-src-conn-rate', 'max-src-nodes',
  'max-src-states', 'min-ttl', 'modulate', 'nat', 'nat-anchor', 'no', 'no-df', 'no-route', 'no-sync', 'on', 'optimization', 'os',
  'out', 'overload', 'pass', 'port', 'prio', 'priority', 'priq', 'probability', 'proto', 'qlimit', 'queue', 'quick', 'random',
  'random-id', 'rdr', 'rdr-anchor', 'realtime', 'reassemble', 'reply-to', 'require-order', 'return', 'return-icmp',
  'return-icmp6', 'return-rst', 'round-robin', 'route', 'route-to', 'rtable', 'rule', 'ruleset-optimization', 'scrub', 'set',
  'set-tos', 'skip', 'sloppy', 'source-hash', 'source-track', 'state', 'state-defaults', 'state-policy', 'static-port',
  'sticky-address', 'synproxy', 'table', 'tag', 'tagged', 'target', 'tbrsize', 'timeout', 'to', 'tos', 'ttl', 'upperlimit',
  'urpf-failed', 'user',
]);

/** PortField's well-known service names and their ports. */
export const WELL_KNOWN_PORTS: Readonly<Record<string, number>> = {
  'afs3-fileserver': 7000, aol: 5190, auth: 113, 'avt-profile-1': 5004, cvsup: 5999, domain: 53, 'domain-s': 853, ftp: 21,
  hbci: 3000, http: 80, https: 443, igmpv3lite: 465, imap: 143, imaps: 993, 'ipsec-msft': 10000, 'ipsec-nat-t': 4500,
  isakmp: 500, l2f: 1701, ldap: 389, ldaps: 636, 'microsoft-ds': 445, 'ms-streaming': 1755, 'ms-wbt-server': 3389,
  msnp: 1863, 'nat-stun-port': 3478, 'netbios-dgm': 138, 'netbios-ns': 137, 'netbios-ssn': 139, nntp: 119, ntp: 123,
  openvpn: 1194, pop3: 110, pop3s: 995, pptp: 1723, radius: 1812, 'radius-acct': 1813, rfb: 5900, sip: 5060, 'sip-tls': 5061,
  smtp: 25, snmp: 161, snmptrap: 162, ssh: 22, submission: 587, submissions: 465, telnet: 23, teredo: 3544, tftp: 69,
  urd: 465, wins: 1512,
};

/**
 * Aliases every OPNsense has without anyone declaring them: the pf tables
 * the firewall fills itself (alias_export.json, 26.7 fw-alias__search.json),
 * and the interface networks `__<if>_network` (26.7 alias template options).
 */
export const SYSTEM_ALIASES = new Set(['bogons', 'bogonsv6', 'sshlockout', 'virusprot']);
export function isSystemAliasName(name: string): boolean {
  return SYSTEM_ALIASES.has(name) || /^__[a-z][a-z0-9_]*$/.test(name);
}

/** `low-high` or a single port number, 1..65535. */
export function portRange(text: string): [number, number] | null {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || (m[2] !== undefined && lo >= hi)) return null;
  return [lo, hi];
}

/** The version series of `product_version` ("26.1.9" -> [26, 1]); null when it is not a version. */
export function versionSeries(version: unknown): [number, number] | null {
  const m = typeof version === 'string' ? /^(\d+)\.(\d+)/.exec(version.trim()) : null;
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** savepoint / apply/{revision} / cancelRollback exist up to 26.1.x and were removed in 26.7 (core PR #10411). */
export function hasRollbackApi(series: [number, number]): boolean {
  return series[0] < 26 || (series[0] === 26 && series[1] <= 1);
}
