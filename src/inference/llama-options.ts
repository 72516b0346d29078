// LlamaCppInferenceBackend's options, checked by its constructor (so `create()` rejects).
import { BackendError } from 'rhapsody';
import { count, inferenceShape, name, optionsObject, optionsProblem } from '../backends/options/check.js';

const llama = optionsObject({
  name: name().optional(),
  modelPath: name(),
  contextSize: count().optional(),
  parallel: count().optional(),
  threads: count().optional(),
  ...inferenceShape,
});

/** Throws a BackendError naming each bad option; returns the options as given. */
export function checkLlamaOptions<T>(options: T): T {
  const problem = optionsProblem('LlamaCppInferenceBackend', llama, options);
  if (problem) {
    const given = (options as { name?: unknown } | null)?.name;
    throw new BackendError(problem, typeof given === 'string' && given ? given : 'llama');
  }
  return options;
}
