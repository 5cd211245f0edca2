/**
 * The reference client `web/js/bankhub.js`, packaged for Node as an ES module.
 *
 * The same file serves the browser page; in Node there is no `sessionStorage`, so `connectNode` keeps the
 * session token in memory (reconnects re-`auth` with it and resubscribe every stream with `since`), and uses
 * the global `WebSocket` (Node >= 22, or Node 20.10+ with `--experimental-websocket`) unless one is passed.
 *
 *   import { connectNode } from './clients/js/index.mjs';
 *   const hub = await connectNode({ url: 'ws://127.0.0.1:8080/ws' });
 *   await hub.login('adam', 'adam-demo-2026');
 *   await hub.subscribe('admin:threats', (ev) => console.log(ev.data));
 */
import { BankHubClient } from '../../web/js/bankhub.js';

export * from '../../web/js/bankhub.js';

/** A `TokenStorage` that lives as long as the process. */
export function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => { items.set(key, String(value)); },
    removeItem: (key) => { items.delete(key); },
  };
}

/** A connected {@link BankHubClient} for Node. Options are the client's (`url`, `timeoutMs`, `onState`, ...). */
export async function connectNode(options = {}) {
  const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
  if (!WebSocketImpl) {
    throw new Error('no WebSocket in this Node: use Node >= 22, run with --experimental-websocket, or pass one');
  }
  const hub = new BankHubClient({ storage: memoryStorage(), ...options, WebSocket: WebSocketImpl });
  await hub.connect();
  return hub;
}
