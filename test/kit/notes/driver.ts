/**
 * The reference API driver: a toy "notes" system (test/kit/notes/sim.ts)
 * driven entirely through the provider kit. The four area drivers (Intune,
 * opsi, OPNsense, Snipe-IT) follow the same outline:
 *
 * - connect: one ApiClient per session (pinned, authenticated, budgeted to the
 *   system's published rate), and one cheap request that proves pin and
 *   credentials before the engine relies on the session;
 * - read: list the collection once (paged), index it by natural key, answer
 *   every requested object from the index (null when absent), refuse an
 *   ambiguous key (E_AMBIGUOUS_LIVE), report the rest as unmanaged. Reads use
 *   only GET: a plan can never change the system;
 * - applyChange: find the server id by natural key at apply time, write, and
 *   when a change needs several writes, undo the earlier ones if a later one
 *   fails, so a failed change leaves the object as it was (the contract).
 *
 * Manifest side: kind `Note` on a target of kind `NotesServer`; the desired
 * object's `id` is the note's title (its natural key), its state `{body, tags}`.
 */
import { DriverError, type ChangeWriter, type Driver, type ReadRequest, type SessionOptions, type TargetSpec } from '../../../engine/contract.js';
import { objectKey, type Change, type LiveObject, type ReadResult } from '../../../engine/model.js';
import { bearerAuth } from '../../../providers/kit/auth.js';
import { ApiClient } from '../../../providers/kit/client.js';
import type { Clock } from '../../../providers/kit/clock.js';
import { ApiError, statusErrorEnvelope } from '../../../providers/kit/errors.js';
import { NaturalKeyIndex, ambiguousLiveError } from '../../../providers/kit/natural-key.js';
import { collect, offsetPages } from '../../../providers/kit/paging.js';
import { tlsPinProblem } from '../../../providers/kit/pinning.js';
import type { Note } from './sim.js';

export const NOTE = 'Note';

/** What a Note's desired and live state hold (a type, not an interface: it must fit Record<string, unknown>). */
type NoteState = {
  body: string;
  tags: string[];
};

/** Connection checks that need no network (what `validateConnection` would report at validate time). */
function connectionOf(target: TargetSpec): { host: string; port: number; token: string; tlsFingerprint?: string; requestsPerMinute: number } {
  const c = target.connection ?? {};
  if (typeof c.host !== 'string' || !c.host) throw new DriverError('connection.host is required', { code: 'E_CONNECTION' });
  if (typeof c.token !== 'string' || !c.token) throw new DriverError('connection.token is required', { code: 'E_CONNECTION' });
  const pin = tlsPinProblem(c.host, c.tlsFingerprint);
  if (pin) throw new DriverError(pin, { code: 'E_TLS_FINGERPRINT' });
  const rpm = c.requestsPerMinute ?? 120;
  if (!Number.isInteger(rpm) || rpm < 1) throw new DriverError('connection.requestsPerMinute must be a positive integer', { code: 'E_CONNECTION' });
  return { host: c.host, port: Number(c.port ?? 443), token: c.token, tlsFingerprint: c.tlsFingerprint, requestsPerMinute: rpm };
}

function stateOf(n: Note): NoteState {
  return { body: n.body, tags: [...n.tags] };
}

class NotesSession implements ChangeWriter {
  readonly mode = 'change' as const;

  constructor(private readonly http: ApiClient) {}

  static async open(target: TargetSpec, opts: SessionOptions, clock?: Clock): Promise<NotesSession> {
    const c = connectionOf(target);
    const http = new ApiClient({
      host: c.host,
      port: c.port,
      tlsFingerprint: c.tlsFingerprint,
      basePath: '/api',
      auth: bearerAuth(c.token),
      envelope: statusErrorEnvelope,
      timeoutMs: opts.timeoutMs,
      log: opts.log,
      clock,
      // the API allows 120 requests per minute and token (configurable on the server): stay inside instead of collecting 429s
      budget: { requests: { count: c.requestsPerMinute, windowMs: 60_000 }, maxTotal: 20_000 },
    });
    try {
      await http.get('/notes', { query: { limit: 1 } }); // proves pin and token before the engine relies on us
    } catch (e) {
      http.close();
      throw e;
    }
    return new NotesSession(http);
  }

  private all(query: Record<string, string> = {}): Promise<Note[]> {
    return collect(offsetPages<Note>(this.http, '/notes', { query }));
  }

  async read(objects: ReadRequest[]): Promise<ReadResult> {
    const index = new NaturalKeyIndex(await this.all(), { kind: NOTE, keyOf: (n) => n.title, idOf: (n) => String(n.id) });
    const out: ReadResult = { objects: {} };
    for (const o of objects) {
      if (o.kind !== NOTE) throw new DriverError(`the notes driver does not manage ${o.kind}`, { code: 'E_UNSUPPORTED' });
      const n = index.get(o.id);
      out.objects[objectKey(o.kind, o.id)] = n ? { kind: NOTE, id: o.id, state: stateOf(n) } : null;
    }
    out.unmanaged = index.unclaimed().map((n): LiveObject => ({ kind: NOTE, id: n.title, state: stateOf(n) }));
    return out;
  }

  /** The live note with this title at apply time (several: E_AMBIGUOUS_LIVE). */
  private async find(title: string): Promise<Note | undefined> {
    const found = await this.all({ title });
    if (found.length > 1) throw ambiguousLiveError(NOTE, title, found.map((n) => String(n.id)));
    return found[0];
  }

  async applyChange(change: Change): Promise<void> {
    if (change.kind !== NOTE) throw new DriverError(`the notes driver does not manage ${change.kind}`, { code: 'E_UNSUPPORTED' });
    const action = change.actions.join(',');
    const want = change.after as unknown as NoteState | null;
    if (action === 'create') {
      await this.http.post('/notes', { title: change.id, body: want!.body, tags: want!.tags });
      return;
    }
    const live = await this.find(change.id);
    if (action === 'delete') {
      if (live) await this.http.delete(`/notes/${live.id}`);
      return;
    }
    if (action !== 'update') throw new DriverError(`unsupported actions ${action}`, { code: 'E_UNSUPPORTED' });
    if (!live) throw new DriverError(`note ${JSON.stringify(change.id)} no longer exists: re-plan`, { code: 'E_STALE' });
    await this.update(live, want!);
  }

  /** Body and tags are two writes (two endpoints): if the second fails, the first is undone. */
  private async update(live: Note, want: Partial<NoteState>): Promise<void> {
    const bodyChanges = want.body !== undefined && want.body !== live.body;
    const tagsChange = want.tags !== undefined && JSON.stringify(want.tags) !== JSON.stringify(live.tags);
    if (bodyChanges) await this.http.put(`/notes/${live.id}`, { title: live.title, body: want.body });
    if (!tagsChange) return;
    try {
      await this.http.put(`/notes/${live.id}/tags`, { tags: want.tags });
    } catch (e) {
      if (!bodyChanges) throw e;
      const why = (e as Error).message;
      try {
        await this.http.put(`/notes/${live.id}`, { title: live.title, body: live.body });
      } catch (undo) {
        throw new DriverError(`tags not updated (${why}); restoring the previous body failed too (${(undo as Error).message}): the note is half updated`, {
          code: (e as ApiError).code,
        });
      }
      throw new DriverError(`tags not updated (${why}); the body change was undone`, { code: (e as ApiError).code, rolledBack: true });
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

/** The notes driver; `clock` drives its backoff and budget waits (tests pass a VirtualClock). */
export function notesDriver(o: { clock?: Clock } = {}): Driver {
  const open = (t: TargetSpec, opts: SessionOptions = {}) => NotesSession.open(t, opts, o.clock);
  return {
    name: 'notes',
    connectReader: open,
    connectWriter: open,
  };
}
