/**
 * One import for both halves of the engine's public surface: the data model
 * (model.ts) and the provider contract (contract.ts). New code may import
 * either module directly.
 */
export * from './model.js';
export * from './contract.js';
