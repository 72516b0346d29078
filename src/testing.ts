// rhapsody/testing: a tiny deterministic llama model for tests, demos and examples (no model ships
// with any package; the embedded engine needs one).
export { writeTinyModel, TINY_MODEL_SENTENCE } from './inference/tiny-model.js';
export type { TinyModel, TinyModelOptions } from './inference/tiny-model.js';
