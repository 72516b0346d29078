import { intOption, strOption, type Command } from './command.js';
import { untilSignal } from './until-signal.js';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'run a local Stately inspector relay (until SIGINT/SIGTERM)',
  details: "Connect a session with new Session({ inspect: createWebSocketInspector({ url: 'ws://127.0.0.1:8080' }).inspect }).",
  options: {
    port: { type: 'string', value: 'PORT', description: 'the port to listen on', default: '8080' },
    host: { type: 'string', value: 'HOST', description: 'the address to bind', default: '127.0.0.1' },
  },
  async run({ values }) {
    const { startInspectorServer } = await import('../inspect/inspector-relay.js');
    const server = await startInspectorServer({ port: intOption(values, 'port', 0, 65535) ?? 8080, host: strOption(values, 'host') });
    console.log(`inspector relay on ${server.url} — open ${server.pageUrl} in a browser`);
    return untilSignal(() => server.close()).done;
  },
};
