/**
 * Change windows (Environment.spec.changeWindows): when apply may touch an
 * environment's devices.
 *
 * A window is a set of weekdays and a wall-clock interval [start, end) in its
 * time zone (default Europe/Berlin). The wall clock is computed with
 * Intl.DateTimeFormat, so daylight saving time is handled by the platform's
 * time-zone data: a window 06:00-08:00 is 06:00-08:00 local time in winter and
 * in summer. A window whose end is before its start crosses midnight and
 * belongs to the day it starts on (fri 22:00-02:00 includes Saturday 01:00).
 * start == end means 24 hours from start. "24:00" is allowed as an end.
 *
 * No windows declared = no restriction. `--emergency` allows an apply outside
 * every window and always costs one extra approval (and is journalled).
 */

export type Day = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface ChangeWindow {
  days: Day[];
  /** HH:MM */
  start: string;
  /** HH:MM, 24:00 allowed */
  end: string;
  timeZone?: string;
}

export const DEFAULT_TIME_ZONE = 'Europe/Berlin';
const DAYS: Day[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and minutes since local midnight of `now` in `timeZone`. Throws RangeError for an unknown zone. */
export function localTime(now: Date, timeZone = DEFAULT_TIME_ZONE): { day: Day; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(now).map((p) => [p.type, p.value]));
  const day = String(parts.weekday).slice(0, 3).toLowerCase() as Day;
  return { day, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

function minutesOf(hhmm: unknown): number | null {
  const m = typeof hhmm === 'string' ? hhmm.match(/^(\d{2}):(\d{2})$/) : null;
  if (!m) return null;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return Number(m[2]) < 60 && v <= 1440 ? v : null;
}

function prevDay(d: Day): Day {
  return DAYS[(DAYS.indexOf(d) + 6) % 7];
}

/** Is `now` inside this one window? Throws for a malformed window or unknown time zone. */
export function insideWindow(now: Date, w: ChangeWindow): boolean {
  const s = minutesOf(w.start);
  const e = minutesOf(w.end);
  if (s === null || e === null || s === 1440) throw new Error(`malformed change window ${w.start}-${w.end}`);
  const days = new Set(Array.isArray(w.days) ? w.days : []);
  const { day, minutes: t } = localTime(now, w.timeZone || DEFAULT_TIME_ZONE);
  if (s < e) return days.has(day) && t >= s && t < e;
  // Crosses midnight (or, s == e, a full 24 hours from start).
  return (days.has(day) && t >= s) || (days.has(prevDay(day)) && t < e);
}

export function describeWindow(w: ChangeWindow): string {
  return `${(w.days ?? []).join(',')} ${w.start}-${w.end} ${w.timeZone || DEFAULT_TIME_ZONE}`;
}

export interface WindowCheck {
  /** Apply may proceed (inside a window, no windows, or emergency). */
  allowed: boolean;
  inside: boolean;
  /** 1 when --emergency is used, else 0. */
  extraApprovals: number;
  reason: string;
}

/** Check `now` against an environment's windows; `emergency` overrides at the cost of one extra approval. */
export function checkChangeWindow(now: Date, windows: ChangeWindow[] | undefined | null, emergency: boolean): WindowCheck {
  const extra = emergency ? 1 : 0;
  const list = Array.isArray(windows) ? windows : [];
  if (list.length === 0) return { allowed: true, inside: true, extraApprovals: extra, reason: 'no change windows declared' };
  const errors: string[] = [];
  for (const w of list) {
    try {
      if (insideWindow(now, w)) return { allowed: true, inside: true, extraApprovals: extra, reason: `inside window ${describeWindow(w)}` };
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  const bad = errors.length ? ` (ignored: ${errors.join('; ')})` : '';
  const windowsTxt = list.map(describeWindow).join(' | ');
  if (emergency) {
    return { allowed: true, inside: false, extraApprovals: extra, reason: `outside every change window (${windowsTxt})${bad}; emergency apply` };
  }
  return {
    allowed: false,
    inside: false,
    extraApprovals: 0,
    reason: `${now.toISOString()} is outside every change window (${windowsTxt})${bad}; wait for a window or use --emergency (needs one more approval)`,
  };
}
