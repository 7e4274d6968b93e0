/** Outbound fetch policy (SPEC §8): the one way Latchkey fetches anything from the network. */
export { createOutbound, MAX_CONNECT_TIMEOUT_MS, type FetchJsonOptions, type Outbound, type OutboundOptions } from './fetch-json.js';
export { OutboundAllowError, OutboundError, OutboundPolicy, MAX_OUTBOUND_URL_LENGTH, type OutboundErrorCode, type OutboundPolicyOptions } from './policy.js';
export { nonPublicReason, parseIp } from './ip-address.js';
