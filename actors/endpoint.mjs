// comlink endpoints over Node's message channels: worker_threads ports and process IPC.

export function endpointOf(port) {
  const listeners = new Map();
  return {
    postMessage: (msg) => port.postMessage(msg),
    addEventListener(_type, handler) {
      const l = (data) => (typeof handler === 'function' ? handler({ data }) : handler.handleEvent({ data }));
      listeners.set(handler, l);
      port.on('message', l);
    },
    removeEventListener(_type, handler) {
      const l = listeners.get(handler);
      if (l) port.off('message', l);
      listeners.delete(handler);
    },
  };
}

/** A child process (parent side) or `process` (child side), over IPC with advanced serialization. */
export function processEndpoint(proc) {
  const ep = endpointOf(proc);
  ep.postMessage = (msg) => {
    if (proc.connected) proc.send(msg);
  };
  return ep;
}
