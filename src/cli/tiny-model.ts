import type { Command } from './command.js';

export const tinyModelCommand: Command = {
  name: 'tiny-model',
  summary: 'write the tiny deterministic test model (a ~0.6 MB GGUF whose greedy answer is a fixed sentence)',
  positionals: [{ name: 'OUT.gguf', description: 'the file to write', required: true }],
  options: {},
  async run({ positionals }) {
    const { writeTinyModel } = await import('../inference/tiny-model.js');
    const m = writeTinyModel(positionals[0]!);
    console.log(`${m.path}: ${m.bytes} bytes, ${m.vocabulary} tokens`);
    return 0;
  },
};
