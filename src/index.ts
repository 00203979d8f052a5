// Eddy's public entry point.

export { BrokerConfig } from './broker/config.js';
export { type EmbeddedBroker, type StartBrokerOptions, startBroker } from './broker/embedded.js';
export { Broker } from './broker/server.js';
export * as protocol from './protocol/index.js';
