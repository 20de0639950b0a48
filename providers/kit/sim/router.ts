/**
 * A tiny router for lab simulators: method + path pattern (`/api/v1/licenses/:id`)
 * to a handler, with path parameters decoded. It tells "no such path" (404)
 * from "path exists, method does not" (405), because real APIs answer those
 * differently (Snipe-IT: 404 "endpoint not found" vs 405 "Method not allowed").
 */
import type { SimHandler } from './types.js';

interface Route {
  method: string;
  parts: string[];
  handler: SimHandler;
  write: boolean;
}

export type RouteMatch = { handler: SimHandler; params: Record<string, string>; write: boolean } | { status: 404 | 405 };

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

export class Router {
  private readonly routes: Route[] = [];

  /**
   * Adds a route. `:name` segments match one path segment; a last segment `*rest`
   * matches the rest of the path. `write` (default: every method but GET, HEAD,
   * OPTIONS) says whether the simulator counts the request as a write.
   */
  on(method: string, pattern: string, handler: SimHandler, o: { write?: boolean } = {}): this {
    const m = method.toUpperCase();
    this.routes.push({ method: m, parts: split(pattern), handler, write: o.write ?? !SAFE.has(m) });
    return this;
  }

  get(pattern: string, h: SimHandler, o?: { write?: boolean }): this {
    return this.on('GET', pattern, h, o);
  }
  post(pattern: string, h: SimHandler, o?: { write?: boolean }): this {
    return this.on('POST', pattern, h, o);
  }
  put(pattern: string, h: SimHandler, o?: { write?: boolean }): this {
    return this.on('PUT', pattern, h, o);
  }
  patch(pattern: string, h: SimHandler, o?: { write?: boolean }): this {
    return this.on('PATCH', pattern, h, o);
  }
  delete(pattern: string, h: SimHandler, o?: { write?: boolean }): this {
    return this.on('DELETE', pattern, h, o);
  }

  private params(route: Route, segs: string[]): Record<string, string> | undefined {
    const out: Record<string, string> = {};
    for (let i = 0; i < route.parts.length; i++) {
      const p = route.parts[i];
      if (p.startsWith('*')) {
        out[p.slice(1)] = segs.slice(i).map(decodeURIComponent).join('/');
        return out;
      }
      if (i >= segs.length) return undefined;
      if (p.startsWith(':')) out[p.slice(1)] = decodeURIComponent(segs[i]);
      else if (p !== segs[i]) return undefined;
    }
    return route.parts.length === segs.length ? out : undefined;
  }

  /** The route for a request, or 404/405. */
  match(method: string, path: string): RouteMatch {
    const segs = split(path);
    let pathExists = false;
    for (const r of this.routes) {
      const params = this.params(r, segs);
      if (!params) continue;
      if (r.method === method.toUpperCase()) return { handler: r.handler, params, write: r.write };
      pathExists = true;
    }
    return { status: pathExists ? 405 : 404 };
  }
}
