/**
 * WS-Management (MS-WSMV) messages for the Windows Remote Shell: the requests
 * a client sends (Create shell, Command, Send, Receive, Signal, Delete), the
 * responses Windows answers with, SOAP faults, and parsers for both sides.
 * Element names, namespaces and attributes follow real Windows hosts (see
 * ../shared/corpus/winrm).
 */
import { randomUUID } from 'node:crypto';
import { attr, child, childrenOf, esc, parseXml, path, type XmlElement } from './xml.js';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  a: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  w: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  p: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  x: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  f: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
} as const;

export const RESOURCE_CMD = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';
export const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';

export const ACTION = {
  create: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  delete: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete',
  command: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command',
  send: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
  receive: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive',
  signal: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal',
  fault: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
} as const;

export const COMMAND_STATE_DONE = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done';
export const COMMAND_STATE_RUNNING = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running';
export const SIGNAL_TERMINATE = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate';

/** WSManFault codes Windows uses. */
export const FAULT_CODE = {
  shellNotFound: 2150858843,
  timedOut: 2150858793,
  accessDenied: 5,
  internal: 2150858752,
  /** ERROR_WSMAN_QUOTA_MAX_SHELLUSERS: "This user is allowed a maximum number of N concurrent shells" (hashicorp/vagrant issue 7489). */
  quotaMaxShells: 2150859173,
  /** ERROR_WSMAN_QUOTA_MAX_OPERATIONS: "... maximum number of N concurrent operations" (ansible/ansible PR 83656). */
  quotaMaxOperations: 2150859174,
} as const;

// ------------------------------------------------------------ client side

/** Where envelopes go, and how long the server may hold one (the envelopes' `To` and `OperationTimeout`). */
export interface WsmanEndpoint {
  /** The endpoint URL (`http(s)://host:port/wsman`). */
  readonly url: string;
  /** ISO 8601 duration for w:OperationTimeout, e.g. `PT50S` (default PT60S, Windows' MaxTimeoutms). */
  readonly operationTimeout?: string;
}

const REQ_NS =
  `xmlns:env="${NS.s}" xmlns:a="${NS.a}" xmlns:w="${NS.w}" xmlns:p="${NS.p}" ` +
  `xmlns:rsp="${NS.rsp}" xmlns:x="${NS.x}"`;

export interface RequestHeader {
  at: WsmanEndpoint;
  action: string;
  shellId?: string;
  messageId?: string;
  options?: Record<string, string>;
  maxEnvelopeSize?: number;
}

export function requestEnvelope(h: RequestHeader, body: string): string {
  const selector = h.shellId
    ? `<w:SelectorSet><w:Selector Name="ShellId">${esc(h.shellId)}</w:Selector></w:SelectorSet>`
    : '';
  const options = h.options
    ? `<w:OptionSet>${Object.entries(h.options)
        .map(([k, v]) => `<w:Option Name="${esc(k)}">${esc(v)}</w:Option>`)
        .join('')}</w:OptionSet>`
    : '';
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n<env:Envelope ${REQ_NS}><env:Header>` +
    `<a:To>${esc(h.at.url)}</a:To>` +
    `<a:ReplyTo><a:Address mustUnderstand="true">${ANONYMOUS}</a:Address></a:ReplyTo>` +
    `<w:MaxEnvelopeSize mustUnderstand="true">${h.maxEnvelopeSize ?? 153600}</w:MaxEnvelopeSize>` +
    `<a:MessageID>uuid:${h.messageId ?? randomUUID()}</a:MessageID>` +
    `<w:Locale mustUnderstand="false" xml:lang="en-US"/>` +
    `<p:DataLocale mustUnderstand="false" xml:lang="en-US"/>` +
    `<w:OperationTimeout>${h.at.operationTimeout ?? 'PT60S'}</w:OperationTimeout>` +
    `<w:ResourceURI mustUnderstand="true">${RESOURCE_CMD}</w:ResourceURI>` +
    `<a:Action mustUnderstand="true">${h.action}</a:Action>` +
    selector +
    options +
    `</env:Header><env:Body>${body}</env:Body></env:Envelope>`
  );
}

export function createShellRequest(at: WsmanEndpoint, codepage = 65001): string {
  return requestEnvelope(
    { at, action: ACTION.create, options: { WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: String(codepage) } },
    '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>',
  );
}

export function commandRequest(at: WsmanEndpoint, shellId: string, command: string, args: string[] = []): string {
  return requestEnvelope(
    { at, action: ACTION.command, shellId, options: { WINRS_CONSOLEMODE_STDIN: 'TRUE', WINRS_SKIP_CMD_SHELL: 'TRUE' } },
    `<rsp:CommandLine><rsp:Command>${esc(command)}</rsp:Command>` +
      args.map((a) => `<rsp:Arguments>${esc(a)}</rsp:Arguments>`).join('') +
      '</rsp:CommandLine>',
  );
}

export function sendRequest(at: WsmanEndpoint, shellId: string, commandId: string, data: Buffer, end: boolean): string {
  return requestEnvelope(
    { at, action: ACTION.send, shellId },
    `<rsp:Send><rsp:Stream Name="stdin" CommandId="${esc(commandId)}"${end ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream></rsp:Send>`,
  );
}

export function receiveRequest(at: WsmanEndpoint, shellId: string, commandId: string): string {
  return requestEnvelope(
    { at, action: ACTION.receive, shellId },
    `<rsp:Receive><rsp:DesiredStream CommandId="${esc(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`,
  );
}

export function signalRequest(at: WsmanEndpoint, shellId: string, commandId: string, code = SIGNAL_TERMINATE): string {
  return requestEnvelope(
    { at, action: ACTION.signal, shellId },
    `<rsp:Signal CommandId="${esc(commandId)}"><rsp:Code>${esc(code)}</rsp:Code></rsp:Signal>`,
  );
}

export function deleteShellRequest(at: WsmanEndpoint, shellId: string): string {
  return requestEnvelope({ at, action: ACTION.delete, shellId }, '');
}

/** A SOAP fault as Windows reports it. */
export class WsmanFault extends Error {
  constructor(
    message: string,
    public readonly code: string,
    public readonly subcode: string,
    public readonly wsmanCode?: number,
  ) {
    super(message);
    this.name = 'WsmanFault';
  }
}

/** Throws WsmanFault if the envelope is a fault; returns its body otherwise. */
export function responseBody(env: XmlElement): XmlElement {
  if (env.ns !== NS.s || env.local !== 'Envelope') throw new Error(`not a SOAP envelope: <${env.name}>`);
  const body = child(env, NS.s, 'Body');
  if (!body) throw new Error('SOAP envelope without Body');
  const fault = child(body, NS.s, 'Fault');
  if (fault) {
    const code = path(fault, [NS.s, 'Code'], [NS.s, 'Value'])?.text.trim() ?? '';
    const subcode = path(fault, [NS.s, 'Code'], [NS.s, 'Subcode'], [NS.s, 'Value'])?.text.trim() ?? '';
    const reason = path(fault, [NS.s, 'Reason'], [NS.s, 'Text'])?.text.trim() ?? '';
    const wf = path(fault, [NS.s, 'Detail'], [NS.f, 'WSManFault']);
    const msg = path(wf, [NS.f, 'Message'])?.text.trim();
    const wcode = wf ? Number(attr(wf, 'Code')) : undefined;
    throw new WsmanFault(msg || reason || 'SOAP fault', code, subcode, Number.isFinite(wcode) ? wcode : undefined);
  }
  return body;
}

export function parseShellId(body: XmlElement): string {
  const created = child(body, NS.x, 'ResourceCreated');
  const sel = path(created, [NS.a, 'ReferenceParameters'], [NS.w, 'SelectorSet']);
  const id = childrenOf(sel, NS.w, 'Selector').find((s) => attr(s, 'Name') === 'ShellId')?.text.trim();
  if (id) return id;
  const shell = child(body, NS.rsp, 'Shell'); // some hosts answer with the shell resource instead
  const sid = child(shell, NS.rsp, 'ShellId')?.text.trim();
  if (sid) return sid;
  throw new Error('CreateResponse without ShellId');
}

export function parseCommandId(body: XmlElement): string {
  const id = path(body, [NS.rsp, 'CommandResponse'], [NS.rsp, 'CommandId'])?.text.trim();
  if (!id) throw new Error('CommandResponse without CommandId');
  return id;
}

export interface ReceiveChunk {
  stdout: Buffer[];
  stderr: Buffer[];
  done: boolean;
  exitCode?: number;
}

export function parseReceive(body: XmlElement): ReceiveChunk {
  const rr = child(body, NS.rsp, 'ReceiveResponse');
  if (!rr) throw new Error('no ReceiveResponse');
  const out: ReceiveChunk = { stdout: [], stderr: [], done: false };
  for (const s of childrenOf(rr, NS.rsp, 'Stream')) {
    const name = attr(s, 'Name');
    const data = s.text.trim();
    if (!data) continue;
    const buf = Buffer.from(data, 'base64');
    if (name === 'stdout') out.stdout.push(buf);
    else if (name === 'stderr') out.stderr.push(buf);
  }
  const st = child(rr, NS.rsp, 'CommandState');
  if (st && attr(st, 'State') === COMMAND_STATE_DONE) {
    out.done = true;
    const ec = child(st, NS.rsp, 'ExitCode')?.text.trim();
    out.exitCode = ec !== undefined && ec !== '' ? Number(ec) : 0;
  }
  return out;
}

/**
 * PowerShell writes errors to stderr as CLIXML (`#< CLIXML` then `<Objs>`
 * with `<S S="Error">` lines, `_x000D__x000A_` for CR LF). Returns readable text.
 */
export function clixmlToText(stderr: string): string {
  const t = stderr.replace(/^#< CLIXML\r?\n?/, '');
  if (!t.trimStart().startsWith('<Objs')) return stderr.trim();
  try {
    const objs = parseXml(t);
    const lines = objs.children.filter((c) => c.local === 'S' && attr(c, 'S') === 'Error').map((c) => c.text);
    return lines
      .join('')
      .replace(/_x([0-9A-Fa-f]{4})_/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
      .replace(/\r\n/g, '\n')
      .trim();
  } catch {
    return stderr.trim();
  }
}

// ------------------------------------------------------------ server side

/** What the simulator needs from a request. */
export interface ParsedRequest {
  action: string;
  messageId: string;
  resourceUri: string;
  shellId?: string;
  options: Record<string, string>;
  /** w:OperationTimeout in ms, when the request gives one. */
  operationTimeoutMs?: number;
  body: XmlElement;
}

/** `PT20S`, `PT0.5S`, `PT1M30S` (the xs:duration form WS-Man uses for timeouts) -> ms; undefined for anything else. */
export function durationMs(iso: string): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(iso.trim());
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Math.round(((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000);
}

export function parseRequest(xml: string): ParsedRequest {
  const env = parseXml(xml);
  if (env.ns !== NS.s || env.local !== 'Envelope') throw new Error('not a SOAP 1.2 envelope');
  const header = child(env, NS.s, 'Header');
  const body = child(env, NS.s, 'Body');
  if (!header || !body) throw new Error('envelope needs Header and Body');
  const selectors = childrenOf(child(header, NS.w, 'SelectorSet'), NS.w, 'Selector');
  const options: Record<string, string> = {};
  for (const o of childrenOf(child(header, NS.w, 'OptionSet'), NS.w, 'Option')) options[attr(o, 'Name') ?? ''] = o.text.trim();
  return {
    action: child(header, NS.a, 'Action')?.text.trim() ?? '',
    messageId: child(header, NS.a, 'MessageID')?.text.trim() ?? '',
    resourceUri: child(header, NS.w, 'ResourceURI')?.text.trim() ?? '',
    shellId: selectors.find((s) => attr(s, 'Name') === 'ShellId')?.text.trim(),
    options,
    operationTimeoutMs: durationMs(child(header, NS.w, 'OperationTimeout')?.text ?? ''),
    body,
  };
}

const RESP_NS =
  `xml:lang="en-US" xmlns:a="${NS.a}" xmlns:p="${NS.p}" xmlns:rsp="${NS.rsp}" ` +
  `xmlns:s="${NS.s}" xmlns:w="${NS.w}" xmlns:x="${NS.x}"`;

export function responseEnvelope(action: string, relatesTo: string, body: string): string {
  return (
    `<?xml version="1.0" ?>\n<s:Envelope ${RESP_NS}>\n<s:Header>\n` +
    `<a:Action>${action}</a:Action>\n` +
    `<a:MessageID>uuid:${randomUUID().toUpperCase()}</a:MessageID>\n` +
    `<a:To>${ANONYMOUS}</a:To>\n` +
    `<a:RelatesTo>${esc(relatesTo)}</a:RelatesTo>\n` +
    `</s:Header>\n${body ? `<s:Body>\n${body}\n</s:Body>` : '<s:Body/>'}\n</s:Envelope>\n`
  );
}

export function createShellResponse(relatesTo: string, address: string, shellId: string): string {
  return responseEnvelope(
    ACTION.create + 'Response',
    relatesTo,
    `<x:ResourceCreated><a:Address>${esc(address)}</a:Address><a:ReferenceParameters>` +
      `<w:ResourceURI>${RESOURCE_CMD}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">${esc(shellId)}</w:Selector></w:SelectorSet>` +
      `</a:ReferenceParameters></x:ResourceCreated>`,
  );
}

export function commandResponse(relatesTo: string, commandId: string): string {
  return responseEnvelope(
    ACTION.command + 'Response',
    relatesTo,
    `<rsp:CommandResponse><rsp:CommandId>${esc(commandId)}</rsp:CommandId></rsp:CommandResponse>`,
  );
}

export function receiveResponse(
  relatesTo: string,
  commandId: string,
  streams: { name: 'stdout' | 'stderr'; data: Buffer }[],
  done: { exitCode: number } | null,
): string {
  const cid = esc(commandId);
  const parts = streams.map((s) => `<rsp:Stream Name="${s.name}" CommandId="${cid}">${s.data.toString('base64')}</rsp:Stream>`);
  if (done) {
    parts.push(`<rsp:Stream Name="stdout" CommandId="${cid}" End="true"/>`, `<rsp:Stream Name="stderr" CommandId="${cid}" End="true"/>`);
    parts.push(
      `<rsp:CommandState CommandId="${cid}" State="${COMMAND_STATE_DONE}"><rsp:ExitCode>${done.exitCode}</rsp:ExitCode></rsp:CommandState>`,
    );
  } else {
    parts.push(`<rsp:CommandState CommandId="${cid}" State="${COMMAND_STATE_RUNNING}"/>`);
  }
  return responseEnvelope(ACTION.receive + 'Response', relatesTo, `<rsp:ReceiveResponse>${parts.join('')}</rsp:ReceiveResponse>`);
}

export function sendResponse(relatesTo: string): string {
  return responseEnvelope(ACTION.send + 'Response', relatesTo, '<rsp:SendResponse/>');
}

export function signalResponse(relatesTo: string): string {
  return responseEnvelope(ACTION.signal + 'Response', relatesTo, '<rsp:SignalResponse/>');
}

export function deleteShellResponse(relatesTo: string): string {
  return responseEnvelope(ACTION.delete + 'Response', relatesTo, '');
}

export function faultResponse(
  relatesTo: string,
  f: { code: 'Sender' | 'Receiver'; subcode: string; reason: string; wsmanCode: number; machine: string },
): string {
  return responseEnvelope(
    ACTION.fault,
    relatesTo,
    `<s:Fault><s:Code><s:Value>s:${f.code}</s:Value><s:Subcode><s:Value>${esc(f.subcode)}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${esc(f.reason)}</s:Text></s:Reason>` +
      `<s:Detail><f:WSManFault xmlns:f="${NS.f}" Code="${f.wsmanCode}" Machine="${esc(f.machine)}"><f:Message>${esc(f.reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>`,
  );
}
