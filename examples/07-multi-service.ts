// Several inference services in one session (the original's multi-service pattern): two managed
// OpenAI-compatible servers routed by name, and a ComputeTask that calls a service's endpoint
// itself. Each service here is `rhapsody serve-model` on a tiny generated model, managed exactly as a
// vLLM server would be (launch, health check, restart on crash, stop at the end); pass
// --vllm MODEL to manage real `vllm serve` processes instead.
// Run: npm run setup:llama && npx tsx examples/07-multi-service.ts
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AITask, ComputeTask, ConcurrentExecutionBackend, Session, VllmInferenceBackend } from 'rhapsody';
import { writeTinyModel } from 'rhapsody/testing';

const vllmModel = process.argv.includes('--vllm') ? process.argv[process.argv.indexOf('--vllm') + 1] : undefined;

/** `rhapsody serve-model …`: from this checkout's source through tsx, else the installed CLI. */
function serveModel(): string[] {
  const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const cli = existsSync(source) ? [process.execPath, '--import', 'tsx', source] : ['npx', 'rhapsody'];
  return [...cli, 'serve-model', '--model', '{model}', '--model-name', '{servedModelName}', '--host', '{host}', '--port', '{port}', '--parallel', '4'];
}

const model = vllmModel ?? writeTinyModel().path;
const service = (name: string, servedModelName: string) => VllmInferenceBackend.create({ name, model, servedModelName, command: vllmModel ? undefined : serveModel(), maxInFlight: 16 });

const [summarizer, classifier, local] = await Promise.all([service('summarizer', 'summary-model'), service('classifier', 'label-model'), ConcurrentExecutionBackend.create({ name: 'local' })]);
console.log(`summarizer at ${summarizer.endpoint}, classifier at ${classifier.endpoint}`);

await using session = new Session({ backends: [summarizer, classifier, local] });

// routed by name; a prompt list is one task whose response is a list
const summary = new AITask({ prompt: 'Summarize the run', backend: 'summarizer', maxTokens: 12 });
const labels = new AITask({ prompt: ['job 1 log', 'job 2 log'], backend: 'classifier', maxTokens: 2 });

// a ComputeTask that talks to a service's endpoint directly (any OpenAI client would do)
async function askService(endpoint: string, model: string): Promise<string> {
  const res = await fetch(`${endpoint}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'status?' }], max_tokens: 3 }),
  });
  const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
  return body.choices[0]!.message.content;
}
const direct = new ComputeTask({ function: askService, args: [summarizer.endpoint, 'summary-model'], backend: 'local' });

await session.submitTasks([summary, labels, direct]);
await Promise.all([summary, labels, direct]);
console.log(`summarizer: ${summary.response}`);
console.log(`classifier: ${JSON.stringify(labels.response)}`);
console.log(`compute task via HTTP: ${direct.returnValue}`);
