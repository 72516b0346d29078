// node-llama-cpp is an optional peer dependency: its types are used when it is installed and are
// `any` when it is not, so the package typechecks and builds (d.ts included) without it.
// biome-ignore lint/suspicious/noTsIgnore: the error exists only without the peer, so @ts-expect-error would fail with it
// @ts-ignore -- TS2307 when node-llama-cpp is not installed
import type * as NodeLlamaCpp from 'node-llama-cpp';

export type LlamaLib = typeof NodeLlamaCpp;
export type Llama = NodeLlamaCpp.Llama;
export type LlamaModel = NodeLlamaCpp.LlamaModel;
export type LlamaContext = NodeLlamaCpp.LlamaContext;
export type LlamaContextSequence = NodeLlamaCpp.LlamaContextSequence;
export type ChatWrapper = NodeLlamaCpp.ChatWrapper;
export type ChatHistoryItem = NodeLlamaCpp.ChatHistoryItem;

/** Loads node-llama-cpp, or says how to install it. */
export async function loadLlamaLib(): Promise<LlamaLib> {
  // a string the compiler does not resolve: the import is checked at run time, not at build time
  const specifier: string = 'node-llama-cpp';
  return (await import(specifier).catch((err: Error) => {
    throw new Error(`the embedded engine needs node-llama-cpp@3.21.1 (npm i -E node-llama-cpp@3.21.1 --omit=optional): ${err.message}`);
  })) as LlamaLib;
}
