// Where the examples' AITasks go: the embedded engine on a tiny generated model (default, no
// service needed), an existing OpenAI-compatible endpoint, or a managed vLLM server.
//   --endpoint http://host:8000/v1 --model NAME   an existing server (vLLM, llama.cpp, Ollama, …)
//   --vllm MODEL [--gpus 0,1]                     launch `vllm serve MODEL` and manage it
//   --gguf FILE.gguf                              the embedded engine on your own model
import { parseArgs } from 'node:util';
import { OpenAIInferenceBackend, VllmInferenceBackend, watchBackend, type InferenceBackend } from 'rhapsody';
import { writeTinyModel } from 'rhapsody/testing';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { endpoint: { type: 'string' }, model: { type: 'string' }, vllm: { type: 'string' }, gpus: { type: 'string' }, gguf: { type: 'string' } },
  strict: false,
});

/** An inference backend named `name`, from the command line (embedded engine by default). */
export async function inferenceBackend(name: string): Promise<InferenceBackend> {
  if (typeof values.endpoint === 'string') return OpenAIInferenceBackend.create({ name, endpoint: values.endpoint, model: values.model as string | undefined });
  if (typeof values.vllm === 'string') {
    const gpus = typeof values.gpus === 'string' ? values.gpus.split(',').map(Number) : undefined;
    const vllm = new VllmInferenceBackend({ name, model: values.vllm, gpus, tpSize: gpus?.length });
    // loading a real model takes minutes: show on stderr what it waits for and what the server says
    watchBackend(vllm);
    return vllm.start();
  }
  const modelPath = typeof values.gguf === 'string' ? values.gguf : writeTinyModel().path;
  // the embedded engine is an optional peer: loaded only when used
  const { LlamaCppInferenceBackend } = await import('rhapsody/inference/llama');
  return LlamaCppInferenceBackend.create({ name, modelPath, parallel: 4 });
}
