/**
 * The simulator base for lab simulators and tests (see providers/kit/index.ts,
 * "Simulators"). Lab code: drivers never import it.
 */
export { startHttpsSim, type HttpsSimOptions, type RunningHttpsSim, type SimCounters, type SimLogEntry } from './https-sim.js';
export { Router, type RouteMatch } from './router.js';
export { FaultInjector, type Fault, type FaultMatch } from './faults.js';
export { FixedWindowLimiter, type RateLimitOptions, type RateLimitVerdict } from './rate-limit.js';
export { HttpError, jsonResponse, type SimAuth, type SimHandler, type SimRequest, type SimResponse } from './types.js';
