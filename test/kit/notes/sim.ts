/**
 * Simulator of the toy "notes" API, the reference for the four area
 * simulators: built on providers/kit/sim, it models the quirks the real
 * systems have, so the reference driver has to cope with them:
 *
 *   GET    /api/notes?limit&offset&title   {total, rows}; limit clamped to `pageClamp` (Snipe-IT: 500)
 *   GET    /api/notes/:id                  the note, or 200 {"status":"error","messages":"Note not found"}
 *   POST   /api/notes {title, body, tags}  200 {"status":"success","payload":note}; validation errors inside HTTP 200
 *   PUT    /api/notes/:id {title, body}    strict PUT: both fields required (tags are NOT touched)
 *   PUT    /api/notes/:id/tags {tags}      tags live behind their own endpoint (an update may need two writes)
 *   DELETE /api/notes/:id
 *
 * Bearer token auth (401 `{"error":"Unauthorized or unauthenticated."}`
 * outside the envelope, as Snipe-IT), titles are NOT unique (as Graph
 * displayNames), and a per-token rate limit answers 429 without Retry-After
 * (as Snipe-IT's exception handler does). Ids are assigned by the server.
 */
import { FixedWindowLimiter } from '../../../providers/kit/sim/rate-limit.js';
import { Router } from '../../../providers/kit/sim/router.js';
import { startHttpsSim, type RunningHttpsSim } from '../../../providers/kit/sim/https-sim.js';
import { jsonResponse, type SimRequest, type SimResponse } from '../../../providers/kit/sim/types.js';
import type { Clock } from '../../../providers/kit/clock.js';

export interface Note {
  id: number;
  title: string;
  body: string;
  tags: string[];
}

export interface NotesSimOptions {
  token: string;
  /** Seed of the lab certificate (the target address). */
  certSeed: string;
  /** Requests per minute and token (default 120, Snipe-IT's default). */
  perMinute?: number;
  /** Largest page the server hands out (default 500). */
  pageClamp?: number;
  /** Time for the rate limiter (default real time). */
  clock?: Clock;
}

export interface RunningNotesSim {
  sim: RunningHttpsSim;
  notes: Map<number, Note>;
  limiter: FixedWindowLimiter;
  /** Out of band: adds a note (no manifest declares it) and returns its id. */
  add(title: string, body?: string, tags?: string[]): number;
  /** Makes the n-th write request from now (1 = the next) fail inside HTTP 200, changing nothing. */
  failNthWrite(n: number): void;
  stop(): Promise<void>;
}

const ok = (payload: unknown, messages = 'ok') => jsonResponse(200, { status: 'success', messages, payload });
const fail = (messages: unknown) => jsonResponse(200, { status: 'error', messages, payload: null });
const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

function validate(b: any, need: ('title' | 'body' | 'tags')[]): Record<string, string[]> | undefined {
  const errors: Record<string, string[]> = {};
  if (need.includes('title') && (typeof b?.title !== 'string' || b.title.length < 1 || b.title.length > 100)) errors.title = ['The title field is required (1 to 100 characters).'];
  if (need.includes('body') && typeof b?.body !== 'string') errors.body = ['The body field is required.'];
  if (need.includes('tags') && (!Array.isArray(b?.tags) || b.tags.some((t: unknown) => typeof t !== 'string'))) errors.tags = ['The tags must be a list of strings.'];
  return Object.keys(errors).length ? errors : undefined;
}

export async function startNotesSim(o: NotesSimOptions): Promise<RunningNotesSim> {
  const notes = new Map<number, Note>();
  let nextId = 1;
  const limiter = new FixedWindowLimiter({ limit: o.perMinute ?? 120, windowMs: 60_000, now: o.clock ? () => o.clock!.now() : undefined });
  const clamp = o.pageClamp ?? 500;
  const add = (title: string, body = '', tags: string[] = []) => {
    const id = nextId++;
    notes.set(id, { id, title, body, tags: [...tags] });
    return id;
  };
  const note = (req: SimRequest): Note | SimResponse => notes.get(Number(req.params.id)) ?? fail('Note not found');

  const r = new Router()
    .get('/api/notes', (req) => {
      const title = req.query.get('title');
      const all = [...notes.values()].filter((n) => title === null || n.title === title);
      const limit = Math.min(Math.max(Number(req.query.get('limit') ?? clamp) || clamp, 1), clamp);
      const offset = Math.min(Math.max(Number(req.query.get('offset') ?? 0) || 0, 0), all.length);
      return jsonResponse(200, { total: all.length, rows: all.slice(offset, offset + limit) });
    })
    .get('/api/notes/:id', (req) => {
      const n = note(req);
      return 'status' in n ? n : jsonResponse(200, n);
    })
    .post('/api/notes', (req) => {
      const b = req.json();
      const bad = validate({ tags: [], ...b }, ['title', 'body', 'tags']);
      if (bad) return fail(bad);
      const id = add(b.title, b.body, b.tags ?? []);
      return ok(notes.get(id), 'Note created.');
    })
    .put('/api/notes/:id', (req) => {
      const n = note(req);
      if ('status' in n) return n;
      const b = req.json();
      const bad = validate(b, ['title', 'body']);
      if (bad) return fail(bad);
      Object.assign(n, { title: b.title, body: b.body });
      return ok(n, 'Note updated.');
    })
    .put('/api/notes/:id/tags', (req) => {
      const n = note(req);
      if ('status' in n) return n;
      const b = req.json();
      const bad = validate(b, ['tags']);
      if (bad) return fail(bad);
      n.tags = [...b.tags];
      return ok(n, 'Tags updated.');
    })
    .delete('/api/notes/:id', (req) => {
      const n = note(req);
      if ('status' in n) return n;
      notes.delete(n.id);
      return ok(null, 'Note deleted.');
    });

  const sim = await startHttpsSim({
    certSeed: o.certSeed,
    router: r,
    gate: (req) => {
      if (req.auth?.scheme !== 'bearer' || req.auth.token !== o.token) return jsonResponse(401, { error: 'Unauthorized or unauthenticated.' });
      const v = limiter.hit(req.auth.token);
      return v.allowed ? undefined : jsonResponse(429, { status: 'error', messages: 'Too many requests', payload: null });
    },
    notFound: () => jsonResponse(404, { status: 'error', messages: '404 endpoint not found', payload: null }),
    methodNotAllowed: () => jsonResponse(405, { status: 'error', messages: 'Method not allowed', payload: null }),
  });
  return {
    sim,
    notes,
    limiter,
    add,
    failNthWrite: (n) =>
      sim.faults.add({ kind: 'status', status: 200, body: { status: 'error', messages: 'injected failure: the server refused this write', payload: null } }, { match: { method: WRITE_METHODS }, skip: n - 1 }),
    stop: () => sim.stop(),
  };
}
