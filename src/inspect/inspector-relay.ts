import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface InspectorServerOptions {
  /** default 8080; 0 picks a free port */
  port?: number;
  /** default 127.0.0.1 (loopback only) */
  host?: string;
  /** the Stately inspector UI the bridge page embeds */
  inspectorUrl?: string;
  /** messages replayed to a viewer that connects late; default 1000 */
  replay?: number;
}

export interface InspectorServer {
  readonly port: number;
  /** where apps connect: `createWebSocketInspector({ url })` */
  readonly url: string;
  /** the page a browser opens to see the inspector */
  readonly pageUrl: string;
  close(): Promise<void>;
}

const bridgePage = (wsUrl: string, inspectorUrl: string) => `<!doctype html><html><head><meta charset="utf-8"><title>rhapsody · Stately inspector</title>
<style>html,body,iframe{margin:0;width:100%;height:100%;border:0}</style></head><body>
<iframe id="inspector" src="${inspectorUrl}"></iframe>
<script>
const frame = document.getElementById('inspector'); const held = []; let ready = false;
addEventListener('message', (e) => { if (e.data && e.data.type === '@statelyai.connected') { ready = true; held.splice(0).forEach((m) => frame.contentWindow.postMessage(m, '*')); } });
new WebSocket(${JSON.stringify(wsUrl)}).onmessage = (e) => { const m = JSON.parse(e.data); ready ? frame.contentWindow.postMessage(m, '*') : held.push(m); };
</script></body></html>`;

/**
 * A local relay for the Stately inspector: apps send inspection events over a WebSocket
 * (`@statelyai/inspect`'s `createWebSocketInspector`), every other connected client (the bridge
 * page in a browser, a test, a logger) receives them. Binds to loopback by default.
 *
 * @example
 * const server = await startInspectorServer({ port: 0 });
 * const session = new Session({ backends, inspect: createWebSocketInspector({ url: server.url }).inspect });
 * console.log(`open ${server.pageUrl}`);
 * await server.close();
 */
export function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const host = options.host ?? '127.0.0.1';
  const replayMax = options.replay ?? 1000;
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const history: string[] = [];
  let wsUrl = '';
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(bridgePage(wsUrl, inspectorUrl));
  });
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => {
    for (const m of history) ws.send(m);
    ws.on('message', (data) => {
      const msg = data.toString();
      history.push(msg);
      if (history.length > replayMax) history.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(msg);
    });
    ws.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 8080, host, () => {
      const { port } = http.address() as AddressInfo;
      wsUrl = `ws://${host}:${port}`;
      resolve({
        port,
        url: wsUrl,
        pageUrl: `http://${host}:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            for (const c of wss.clients) c.terminate();
            wss.close(() => http.close(() => done()));
          }),
      });
    });
  });
}
