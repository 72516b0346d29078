import { intOption, strOption, UsageError, type Command } from './command.js';
import { untilSignal } from './until-signal.js';

export const serveModelCommand: Command = {
  name: 'serve-model',
  summary: 'serve a GGUF model over an OpenAI-compatible HTTP API with the embedded engine (until SIGINT/SIGTERM)',
  details: 'Needs the optional peer node-llama-cpp@3.21.1 (npm run setup:llama).',
  options: {
    model: { type: 'string', value: 'FILE.gguf', description: 'the model file (required)' },
    port: { type: 'string', value: 'PORT', description: 'the port to listen on (0: a free one)', default: '8000' },
    host: { type: 'string', value: 'HOST', description: 'the address to bind', default: '127.0.0.1' },
    parallel: { type: 'string', value: 'N', description: 'sequences decoded together', default: '8' },
    'context-size': { type: 'string', value: 'TOKENS', description: 'tokens per context, shared by the sequences', default: '4096' },
    threads: { type: 'string', value: 'N', description: 'CPU threads', default: 'cores − 1' },
    'model-name': { type: 'string', value: 'NAME', description: 'the name /v1/models lists', default: 'the file name' },
  },
  async run({ values }) {
    const modelPath = strOption(values, 'model');
    if (!modelPath) throw new UsageError('--model FILE.gguf is required');
    const opts = {
      modelPath,
      port: intOption(values, 'port', 0, 65535) ?? 8000,
      host: strOption(values, 'host'),
      parallel: intOption(values, 'parallel', 1),
      contextSize: intOption(values, 'context-size', 1),
      threads: intOption(values, 'threads', 1),
      modelName: strOption(values, 'model-name'),
    };
    const { startModelServer } = await import('../inference/model-server.js');
    const server = await startModelServer(opts);
    console.log(`serving ${server.modelName} on ${server.endpoint}`);
    return untilSignal(() => server.close()).done;
  },
};
