/** Address arithmetic lives in the engine (engine/net.ts), which also checks managementNetworks. */
export * from '../engine/net.js';
