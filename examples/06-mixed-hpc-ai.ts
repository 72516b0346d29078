// Mixed HPC and AI workloads (user's guide: "Mixed HPC and AI Workloads"): a simulation executable
// on a compute backend, then an AITask summarising it on an inference backend ("vllm_service").
// By default the inference backend is the embedded engine on a tiny generated model (its answer is
// a fixed sentence); pass --endpoint URL --model NAME or --vllm MODEL for a real model.
// Run: npm run setup:llama && npx tsx examples/06-mixed-hpc-ai.ts
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AITask, ComputeTask, ConcurrentExecutionBackend, Session } from 'rhapsody';
import { inferenceBackend } from './ai-options.js';

// the guide's ./simulate.sh
const dir = mkdtempSync(join(tmpdir(), 'rh-sim-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true })); // leave nothing in the temp dir
const simulate = join(dir, 'simulate.sh');
writeFileSync(simulate, '#!/bin/sh\necho "energy converged to -1.274 after 412 steps"\n');
chmodSync(simulate, 0o755);

// 1. Set up compute (HPC) and inference (AI) backends
const [hpcBackend, aiBackend] = await Promise.all([ConcurrentExecutionBackend.create({ name: 'hpc_cluster' }), inferenceBackend('vllm_service')]);

await using session = new Session({ backends: [hpcBackend, aiBackend] });

// 2. A ComputeTask (the simulation)
const simTask = new ComputeTask({ executable: simulate, backend: 'hpc_cluster' });
// 3. An AITask (summarise the results)
const summaryTask = new AITask({ prompt: 'Summarize the simulation findings: ...', backend: 'vllm_service', maxTokens: 64 });

// 4. Submit both
await session.submitTasks([simTask, summaryTask]);

// wait for the simulation first…
await simTask;
console.log(`Simulation Done: ${simTask.stdout!.trim()}`); // executable ComputeTask: use .stdout

// …then the summary
await summaryTask;
console.log(`AI Summary: ${summaryTask.response}`); // AITask: use .response
