// rhapsody/inference/llama — the embedded engine (node-llama-cpp, an optional peer dependency).
export { LlamaCppInferenceBackend } from './llama-backend.js';
export type { LlamaCppInferenceBackendOptions } from './llama-backend.js';
export { startModelServer } from './model-server.js';
export type { ModelServer, ModelServerOptions } from './model-server.js';
export { LlamaEngine } from '../../actors/inference/llama-engine.js';
export type { LlamaEngineOptions, GenerationRequest, Generation, ChatMessage } from '../../actors/inference/llama-engine.js';
export { writeTinyModel, TINY_MODEL_SENTENCE } from 'rhapsody/testing';
export type { TinyModelOptions } from 'rhapsody/testing';
