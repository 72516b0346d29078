import type { Endpoint } from 'comlink';
export function endpointOf(port: { postMessage(m: unknown): void; on(e: 'message', l: (d: unknown) => void): unknown; off(e: 'message', l: (d: unknown) => void): unknown }): Endpoint;
export function processEndpoint(proc: unknown): Endpoint;
