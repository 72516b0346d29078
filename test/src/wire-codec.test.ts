// The one wire codec (actors/codec/wire-codec.mjs): errors and functions as they cross a boundary.
import { describe, expect, it } from 'vitest';
import { compile, decodeError, describeThrown, encodeError, jsonProblem, toError } from '../../actors/codec/wire-codec.mjs';

class ValidationFailure extends Error {
  code = 'E_VALID';
  details = { field: 'x', limits: [1, 2] };
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ValidationFailure';
  }
}

const hostile = (): unknown[] => [
  Object.create(null),
  undefined,
  null,
  Symbol('odd'),
  10n,
  {
    toString() {
      throw new Error('no');
    },
  },
  new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  ),
];

describe('errors', () => {
  it('a custom error keeps name, message, stack, cause and own enumerable properties (clone and JSON)', () => {
    const err = new ValidationFailure('bad input', new RangeError('inner'));
    for (const json of [false, true]) {
      const data = encodeError(err, { json });
      const back = decodeError(json ? JSON.parse(JSON.stringify(data)) : structuredClone(data)) as ValidationFailure;
      expect(back).toBeInstanceOf(Error);
      expect(back.name).toBe('ValidationFailure');
      expect(back.message).toBe('bad input');
      expect(back.stack).toBe(err.stack);
      expect(back.code).toBe('E_VALID');
      expect(back.details).toEqual({ field: 'x', limits: [1, 2] });
      expect(back.cause).toBeInstanceOf(RangeError);
      expect((back.cause as Error).message).toBe('inner');
    }
  });

  it('built-in classes keep their class; a non-error cause travels as a value', () => {
    const e = decodeError(encodeError(new TypeError('t', { cause: { why: 42 } })));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.cause).toEqual({ why: 42 });
  });

  it('properties the transport would change are left out (JSON) or kept (clone)', () => {
    const err = Object.assign(new Error('x'), { when: new Date(0), fn: () => 1, n: 1 });
    expect(encodeError(err, { json: true }).props).toEqual({ n: 1 });
    expect(encodeError(err).props).toEqual({ when: new Date(0), n: 1 });
  });

  it('any thrown value becomes error data and an Error; nothing throws', () => {
    for (const v of hostile()) {
      const data = encodeError(v);
      expect(data.name).toBe('Error');
      expect(data.message).toMatch(/^Non-error thrown: /);
      expect(() => structuredClone(data)).not.toThrow();
      const e = toError(v);
      expect(e).toBeInstanceOf(Error);
      expect(e.cause).toBe(v);
      expect(typeof describeThrown(v)).toBe('string');
    }
    expect(encodeError('plain text').message).toBe('plain text');
    expect(describeThrown(Object.create(null))).toBe('[Object: null prototype] {}');
  });

  it('an error whose getters throw is still encoded', () => {
    const err = new Error('x');
    Object.defineProperty(err, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    Object.defineProperty(err, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    const data = encodeError(err);
    expect(data.name).toBe('Error');
    expect(typeof data.message).toBe('string');
  });
});

describe('JSON safety', () => {
  it('names the part of a value JSON would change', () => {
    expect(jsonProblem({ a: [1, 'x', { b: null }], c: true })).toBeNull();
    expect(jsonProblem({ a: [1, undefined] }, 'v')).toMatch(/v\.a\[1\] is undefined/);
    expect(jsonProblem(NaN)).toMatch(/NaN/);
    expect(jsonProblem(-0)).toMatch(/-0|0/);
    expect(jsonProblem(new Date())).toMatch(/Date/);
    expect(jsonProblem(new Map())).toMatch(/Map/);
    expect(jsonProblem(1n)).toMatch(/bigint/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(jsonProblem(cyc)).toMatch(/circular/);
  });
});

describe('functions', () => {
  it('rebuilds a function with captured values and captured functions, recursion and cycles included', () => {
    const fn = compile({
      fns: [
        { source: '() => count(n) + even(4)', captures: { count: { f: 1 }, n: { v: 5 }, even: { f: 2 } } },
        { source: 'function count(k) { return k === 0 ? 0 : 1 + count(k - 1); }' },
        { source: '(k) => k === 0 ? 1 : odd(k - 1)', captures: { odd: { f: 3 } } },
        { source: '(k) => k === 0 ? 0 : even(k - 1)', captures: { even: { f: 2 } } },
      ],
    });
    expect(fn()).toBe(6);
  });

  it("provides esbuild's __name helper and takes method shorthand", () => {
    const fn = compile('function outer() { const inner = __name(() => 2, "inner"); const K = __name(class {}, "K"); return inner.name + K.name + inner(); }');
    expect(fn()).toBe('innerK2');
    expect(compile('async twice(a) { return a * 2; }').name).toBe('twice');
  });

  it("a captured binding is the worker's own copy", () => {
    const fn = compile({ fns: [{ source: '() => ++n', captures: { n: { v: 1 } } }] });
    expect([fn(), fn()]).toEqual([2, 3]);
  });

  it('text that is not a function is a SyntaxError', () => {
    expect(() => compile('function () { [native code] }')).toThrow(SyntaxError);
    expect(() => compile('42')).toThrow(SyntaxError);
  });
});
