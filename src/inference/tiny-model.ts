import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufType as G, writeGguf, type GgufTensor, type GgufValue } from './gguf.js';

/**
 * The sentence the tiny model tells. Greedy decoding continues it from wherever a prompt ends inside
 * it, and starts it from the beginning after anything else (a chat turn ends in "\n").
 *
 * @example
 * import { TINY_MODEL_SENTENCE, writeTinyModel } from 'rhapsody/testing';
 * const llm = await LlamaCppInferenceBackend.create({ modelPath: writeTinyModel().path });
 * await using session = new Session({ backends: [llm] });
 * const [answer] = await session.submitTasks([new AITask({ prompt: 'Tell me about the run', model: 'tiny' })]);
 * (await answer).response === TINY_MODEL_SENTENCE; // true
 */
export const TINY_MODEL_SENTENCE = 'The quick robot ran a simulation and wrote short summary of all results for every team member';

const EXTRA_WORDS =
  'hello world Hello summarize Summarize simulation results findings tell me about a an the of to in is it what how why please thanks yes no one two three cat dog data energy model run job node GPU CPU'.split(
    ' ',
  );

export interface TinyModelOptions {
  /** embedding width (≥ story length + 2; default 64) */
  embedding?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  feedForward?: number;
  contextLength?: number;
  seed?: number;
}

/**
 * Writes a tiny llama-architecture GGUF (F32, ~0.6 MB, SentencePiece vocabulary, ChatML template),
 * byte-identical for the same options. Its weights make the next token depend on the last one only
 * (a one-hot "bigram" signal dominates the residual stream) while attention and FFN still compute,
 * so greedy output is exact: {@link TINY_MODEL_SENTENCE}, then end of text. Without a path it writes
 * `tiny.gguf` in a fresh temporary directory, which is removed when the process exits or when the
 * result is disposed, whichever comes first; a path given is the caller's and is left alone.
 *
 * @example
 * import { writeTinyModel } from 'rhapsody/testing';
 * using model = writeTinyModel(); // the temporary directory goes at the end of the block
 * const llama = await LlamaCppInferenceBackend.create({ modelPath: model.path });
 */
export function writeTinyModel(path?: string, options: TinyModelOptions = {}): TinyModel {
  const temp = path === undefined ? makeTempDir() : null;
  const file = path ?? join(temp!, 'tiny.gguf');
  const nEmbd = options.embedding ?? 64;
  const nLayer = options.layers ?? 2;
  const nHead = options.heads ?? 4;
  const nKv = options.kvHeads ?? 2;
  const nFf = options.feedForward ?? 128;
  const headDim = nEmbd / nHead;
  if (!Number.isInteger(headDim) || nHead % nKv !== 0) throw new Error('tiny model: embedding must divide by heads, heads by kvHeads');
  const random = normalSource(options.seed ?? 7);

  // SentencePiece vocabulary: specials, 256 byte fallbacks, single characters, then every prefix of
  // "▁word" (higher score for shorter pieces, so merges build a word up to one token)
  const tokens: string[] = [];
  const scores: number[] = [];
  const kinds: number[] = [];
  const NORMAL = 1,
    UNKNOWN = 2,
    CONTROL = 3,
    BYTE = 6;
  const id = new Map<string, number>();
  const add = (piece: string, score: number, kind: number) => {
    id.set(piece, tokens.length);
    tokens.push(piece);
    scores.push(score);
    kinds.push(kind);
  };
  add('<unk>', 0, UNKNOWN);
  add('<s>', 0, CONTROL);
  add('</s>', 0, CONTROL);
  add('<|im_start|>', 0, CONTROL);
  add('<|im_end|>', 0, CONTROL);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0, BYTE);
  add('\u2581', -1000, NORMAL);
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c), -1000, NORMAL);
  const story = TINY_MODEL_SENTENCE.split(' ');
  for (const word of [...story, ...EXTRA_WORDS]) {
    const piece = `\u2581${word}`;
    for (let k = 2; k <= piece.length; k++) if (!id.has(piece.slice(0, k))) add(piece.slice(0, k), -k, NORMAL);
  }
  const nVocab = tokens.length;
  const EOS = 2;

  // the bigram signal: story word k owns dimension k+1; every other token shares dimension 0
  const storyIds = story.map((w) => id.get(`\u2581${w}`)!);
  if (new Set(storyIds).size !== storyIds.length) throw new Error('tiny model: the sentence must not repeat a word');
  if (nEmbd < storyIds.length + 2) throw new Error(`tiny model: embedding must be ≥ ${storyIds.length + 2}`);
  const embed = new Float32Array(nEmbd * nVocab);
  const output = new Float32Array(nEmbd * nVocab);
  const firstFree = storyIds.length + 1;
  for (let t = 0; t < nVocab; t++) {
    const k = storyIds.indexOf(t);
    if (k >= 0) embed[t * nEmbd + k + 1] = 1;
    else {
      embed[t * nEmbd] = 1;
      for (let d = firstFree; d < nEmbd; d++) embed[t * nEmbd + d] = random() * 0.05;
    }
  }
  const gain = 12 / Math.sqrt(nEmbd); // rms-norm scales a one-hot row by √nEmbd
  output[storyIds[0]! * nEmbd] = gain;
  for (let k = 0; k < storyIds.length; k++) output[(k + 1 < storyIds.length ? storyIds[k + 1]! : EOS) * nEmbd + k + 1] = gain;

  const noise = (n: number) => Float32Array.from({ length: n }, () => random() * 0.02);
  const unit = (n: number) => new Float32Array(n).fill(1);
  const nKvEmbd = headDim * nKv;
  const tensors: GgufTensor[] = [
    { name: 'token_embd.weight', dims: [nEmbd, nVocab], data: embed },
    { name: 'output_norm.weight', dims: [nEmbd], data: unit(nEmbd) },
    { name: 'output.weight', dims: [nEmbd, nVocab], data: output },
  ];
  for (let l = 0; l < nLayer; l++) {
    const b = `blk.${l}.`;
    tensors.push(
      { name: `${b}attn_norm.weight`, dims: [nEmbd], data: unit(nEmbd) },
      { name: `${b}attn_q.weight`, dims: [nEmbd, nEmbd], data: noise(nEmbd * nEmbd) },
      { name: `${b}attn_k.weight`, dims: [nEmbd, nKvEmbd], data: noise(nEmbd * nKvEmbd) },
      { name: `${b}attn_v.weight`, dims: [nEmbd, nKvEmbd], data: noise(nEmbd * nKvEmbd) },
      { name: `${b}attn_output.weight`, dims: [nEmbd, nEmbd], data: noise(nEmbd * nEmbd) },
      { name: `${b}ffn_norm.weight`, dims: [nEmbd], data: unit(nEmbd) },
      { name: `${b}ffn_gate.weight`, dims: [nEmbd, nFf], data: noise(nEmbd * nFf) },
      { name: `${b}ffn_up.weight`, dims: [nEmbd, nFf], data: noise(nEmbd * nFf) },
      { name: `${b}ffn_down.weight`, dims: [nFf, nEmbd], data: noise(nFf * nEmbd) },
    );
  }

  const u32 = (value: number): GgufValue => ({ type: G.U32, value });
  const chatml =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const metadata: Record<string, GgufValue> = {
    'general.architecture': { type: G.STRING, value: 'llama' },
    'general.name': { type: G.STRING, value: 'rhapsody-tiny' },
    'general.file_type': u32(0),
    'llama.vocab_size': u32(nVocab),
    'llama.context_length': u32(options.contextLength ?? 2048),
    'llama.embedding_length': u32(nEmbd),
    'llama.block_count': u32(nLayer),
    'llama.feed_forward_length': u32(nFf),
    'llama.attention.head_count': u32(nHead),
    'llama.attention.head_count_kv': u32(nKv),
    'llama.rope.dimension_count': u32(headDim),
    'llama.rope.freq_base': { type: G.F32, value: 10000 },
    'llama.attention.layer_norm_rms_epsilon': { type: G.F32, value: 1e-5 },
    'tokenizer.ggml.model': { type: G.STRING, value: 'llama' },
    'tokenizer.ggml.tokens': { type: G.ARRAY, of: G.STRING, values: tokens },
    'tokenizer.ggml.scores': { type: G.ARRAY, of: G.F32, values: scores },
    'tokenizer.ggml.token_type': { type: G.ARRAY, of: G.I32, values: kinds },
    'tokenizer.ggml.bos_token_id': u32(1),
    'tokenizer.ggml.eos_token_id': u32(EOS),
    'tokenizer.ggml.eot_token_id': u32(id.get('<|im_end|>')!),
    'tokenizer.ggml.unknown_token_id': u32(0),
    'tokenizer.ggml.add_bos_token': { type: G.BOOL, value: true },
    'tokenizer.ggml.add_eos_token': { type: G.BOOL, value: false },
    'tokenizer.chat_template': { type: G.STRING, value: chatml },
  };
  return {
    path: file,
    bytes: writeGguf(file, metadata, tensors),
    vocabulary: nVocab,
    [Symbol.dispose]: () => {
      if (temp) removeTempDir(temp);
    },
  };
}

/** A written model; disposing it removes the temporary directory it was written to, if any. */
export interface TinyModel extends Disposable {
  path: string;
  bytes: number;
  vocabulary: number;
}

/** Temporary directories made here and not yet removed: they go when the process exits. */
const tempDirs = new Set<string>();

function makeTempDir(): string {
  if (tempDirs.size === 0) process.once('exit', removeAllTempDirs);
  const dir = mkdtempSync(join(tmpdir(), 'rhapsody-tiny-'));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  if (!tempDirs.delete(dir)) return;
  rmSync(dir, { recursive: true, force: true });
  if (tempDirs.size === 0) process.off('exit', removeAllTempDirs);
}

function removeAllTempDirs(): void {
  for (const dir of tempDirs) removeTempDir(dir);
}

/** Deterministic standard normal samples (xorshift32 + Box–Muller). */
function normalSource(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
