// The tiny deterministic model (a fresh temp file per call) and the serve-model command for it.
import { fileURLToPath } from 'node:url';
import { writeTinyModel } from '../../src/inference/tiny-model.js';

export function tinyModel(): string {
  return writeTinyModel().path;
}

/** `rhapsody serve-model` from source, as a managed-service command (fast start: node + tsx). */
export function serveModelCommand(extra: string[] = []): string[] {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  return [process.execPath, '--import', 'tsx', cli, 'serve-model', '--model', '{model}', '--host', '{host}', '--port', '{port}', '--model-name', '{servedModelName}', ...extra];
}

export const SENTENCE = 'The quick robot ran a simulation and wrote short summary of all results for every team member';
