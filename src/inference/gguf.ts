import { writeFileSync } from 'node:fs';

/** GGUF metadata value types (spec: ggml docs/gguf.md). */
export const GgufType = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10 } as const;
type Scalar = typeof GgufType.U32 | typeof GgufType.I32 | typeof GgufType.F32 | typeof GgufType.BOOL | typeof GgufType.STRING | typeof GgufType.U64;

export type GgufValue = { type: Scalar; value: number | string | boolean } | { type: typeof GgufType.ARRAY; of: Scalar; values: Array<number | string | boolean> };

/** A tensor in ggml order (dims[0] varies fastest), stored as F32. */
export interface GgufTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

const ALIGN = 32;
const GGML_F32 = 0;

/** Growable little-endian byte sink. */
class Sink {
  private parts: Buffer[] = [];
  length = 0;
  put(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.put(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.put(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.put(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.put(b);
  }
  text(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.put(b);
  }
  align(): void {
    const r = this.length % ALIGN;
    if (r) this.put(Buffer.alloc(ALIGN - r));
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

function scalar(out: Sink, type: Scalar, v: number | string | boolean): void {
  if (type === GgufType.U32) out.u32(v as number);
  else if (type === GgufType.I32) out.i32(v as number);
  else if (type === GgufType.F32) out.f32(v as number);
  else if (type === GgufType.U64) out.u64(v as number);
  else if (type === GgufType.BOOL) out.put(Buffer.from([v ? 1 : 0]));
  else out.text(v as string);
}

/** Writes a GGUF v3 file with the given metadata and F32 tensors; returns its size in bytes. */
export function writeGguf(path: string, metadata: Record<string, GgufValue>, tensors: GgufTensor[]): number {
  const out = new Sink();
  out.put(Buffer.from('GGUF', 'ascii'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(Object.keys(metadata).length);
  for (const [key, v] of Object.entries(metadata)) {
    out.text(key);
    out.u32(v.type);
    if (v.type === GgufType.ARRAY) {
      out.u32(v.of);
      out.u64(v.values.length);
      for (const x of v.values) scalar(out, v.of, x);
    } else scalar(out, v.type, v.value);
  }
  let offset = 0;
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: ${t.data.length} values for dims ${t.dims.join('x')}`);
    out.text(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(GGML_F32);
    out.u64(offset);
    offset = Math.ceil((offset + n * 4) / ALIGN) * ALIGN;
  }
  out.align();
  for (const t of tensors) {
    out.put(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.align();
  }
  const bytes = out.bytes();
  writeFileSync(path, bytes);
  return bytes.length;
}
