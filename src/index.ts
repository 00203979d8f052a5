// Eddy's public entry point.
export * as protocol from './protocol/index.js';
