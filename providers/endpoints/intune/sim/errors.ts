/**
 * Graph's error body, as every Graph service answers errors
 * (corpus graph/common/error_envelope_body.json, throttling_429.json):
 * `{"error": {"code", "message", "innerError": {"date", "request-id"}}}` (the fields the corpus
 * examples share).
 */
import { randomUUID } from 'node:crypto';
import { HttpError } from '../../../kit/sim/types.js';

export function graphErrorBody(code: string, message: string): { error: { code: string; message: string; innerError: Record<string, string> } } {
  return { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID() } } };
}

/** An HttpError the simulator's handlers throw; the status and body Graph would send. */
export function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpError {
  return new HttpError(status, graphErrorBody(code, message), headers);
}

/** Directory (Entra ID) answers for an object that is not there. */
export function notFound(id: string): HttpError {
  return graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
}
