/** The request and response shapes simulator handlers work with. */
import type { IncomingHttpHeaders } from 'node:http';

export type SimAuth = { scheme: 'basic'; user: string; password: string } | { scheme: 'bearer'; token: string } | { scheme: 'other'; value: string };

export interface SimRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Route parameters (`:id`). */
  params: Record<string, string>;
  body: Buffer;
  /** The Authorization header, parsed; undefined when absent. */
  auth?: SimAuth;
  /** Body as JSON; a body that is not JSON makes the simulator answer 400 (HttpError). */
  json(): any;
  /** Form body (application/x-www-form-urlencoded). */
  form(): URLSearchParams;
  /** Counts this request as a write (for handlers whose route cannot know it, e.g. JSON-RPC). */
  markWrite(): void;
}

export interface SimResponse {
  status: number;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (when there is no json). */
  text?: string;
  headers?: Record<string, string>;
}

export type SimHandler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

/** Thrown by handlers to answer with a status and body (the simulator catches it). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** A JSON response. */
export function jsonResponse(status: number, json: unknown, headers?: Record<string, string>): SimResponse {
  return { status, json, headers };
}
