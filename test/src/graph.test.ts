// The pure parts of the task graph (src/graph/): dependency extraction, batch validation, the tracker,
// value substitution. The session integration is tested end to end elsewhere.
import { describe, expect, it } from 'vitest';
import { AITask, ComputeTask, DependencyError, SessionError, TaskValidationError, type BaseTask } from '../../src/index.js';
import { dependenciesOf } from '../../src/graph/dependencies.js';
import { DependencyTracker, type DependencyRef } from '../../src/graph/dependency-tracker.js';
import { registerFuture, taskOfFuture } from '../../src/graph/futures.js';
import { argumentOf, resolveSpec, dependencyValue } from '../../src/graph/substitute.js';
import { RunRegistry } from '../../src/run/run-registry.js';
import { bindRun } from '../../src/task-base.js';
import { validateBatch } from '../../src/graph/validate-batch.js';

const fn = (uid: string, extra: Record<string, unknown> = {}) => new ComputeTask({ uid, function: (...a: unknown[]) => a, ...extra });
const exe = (uid: string, extra: Record<string, unknown> = {}) => new ComputeTask({ uid, executable: '/bin/echo', ...extra });
function futureOf(task: BaseTask): Promise<never> {
  const f = new Promise<never>(() => undefined);
  registerFuture(f, task);
  return f;
}
/** A task that ran and is DONE with these results: driven through a real run record. */
function settle<T extends BaseTask>(task: T, result: { returnValue?: unknown; stdout?: string; response?: unknown }): T {
  const registry = new RunRegistry();
  const run = registry.create(task, task._spec(), null, '/tmp', performance.now());
  bindRun(task, run, { cancelTask: async () => false });
  for (const e of [{ type: 'SUBMIT', backend: 'b' }, { type: 'START' }, { type: 'COMPLETE', ...result }] as const) registry.send(run, e);
  return task;
}
const resolveInputs = (t: BaseTask) => resolveSpec(t, t._spec());
const ref = (uid: string, state: DependencyRef['state'] = 'SUBMITTED', exception: Error | null = null): DependencyRef => ({ uid, state, exception });

describe('dependency extraction', () => {
  it('finds dependsOn, top-level args, kwargs values and executable arguments, once each, in order', () => {
    const [a, b, c, d] = [fn('x.a'), fn('x.b'), exe('x.c'), fn('x.d')];
    const plainPromise = Promise.resolve(1);
    const t = exe('x.t', { dependsOn: [a, futureOf(b)], arguments: ['-n', c, a] });
    expect(dependenciesOf(t)).toEqual([a, b, c]);
    const f = fn('x.f', { args: [1, d, [a], plainPromise, futureOf(c)], kwargs: { k: b, n: 2, nested: { a } } });
    // nested values are data, not dependencies; a promise that submitTasks did not return is a plain value
    expect(dependenciesOf(f)).toEqual([d, c, b]);
    expect(taskOfFuture(plainPromise)).toBeUndefined();
    expect(dependenciesOf(fn('x.none', { args: [1, 2] }))).toEqual([]);
  });

  it('a dependsOn entry that is not a task or a future of submitTasks is a SessionError naming the task', () => {
    const stray = Promise.resolve({} as never);
    expect(() => dependenciesOf(fn('x.stray', { dependsOn: [stray] }))).toThrow(/x\.stray: dependsOn holds a value/);
  });
});

describe('batch validation', () => {
  const session = {};
  const other = {};
  const none = () => null;

  it('accepts dependencies in the batch or submitted to the same session, aligned with the batch', () => {
    const earlier = fn('v.earlier');
    const [a, b] = [fn('v.a', { dependsOn: [earlier] }), fn('v.b', { args: [] })];
    const c = fn('v.c', { args: [a, b] });
    const deps = validateBatch([c, a, b], session, (t) => (t === earlier ? session : null));
    expect(deps).toEqual([[a, b], [earlier], []]);
  });

  it('refuses an unknown dependency and one of another session with a SessionError naming both', () => {
    const lone = fn('v.lone');
    const foreign = fn('v.foreign');
    expect(() => validateBatch([fn('v.d1', { dependsOn: [lone] })], session, none)).toThrow(SessionError);
    expect(() => validateBatch([fn('v.d1', { dependsOn: [lone] })], session, none)).toThrow(/v\.d1 depends on task v\.lone, which is neither in this batch nor submitted/);
    expect(() => validateBatch([fn('v.d2', { args: [foreign] })], session, () => other)).toThrow(/v\.d2 depends on task v\.foreign of another session/);
  });

  it('reports a cycle with its tasks, a self-dependency too', () => {
    // dependsOn is fixed at construction, so a cycle needs a future-free trick: args arrays are the task's own
    const a = fn('c.a');
    const b = fn('c.b', { args: [a] });
    const c = fn('c.c', { args: [b] });
    a.args.push(c);
    expect(() => validateBatch([a, b, c], session, none)).toThrow('Dependency cycle: c.a → c.c → c.b → c.a; nothing of the batch was submitted');
    const self = fn('c.self');
    self.args.push(self);
    expect(() => validateBatch([self], session, none)).toThrow('Dependency cycle: c.self → c.self');
  });

  it('walks a 10,000-long chain without recursion', () => {
    const chain: ComputeTask[] = [];
    for (let i = 0; i < 10_000; i++) chain.push(fn(`chain.${i}`, i ? { args: [chain[i - 1]] } : {}));
    expect(validateBatch(chain.slice().reverse(), session, none).filter((d) => d.length === 1)).toHaveLength(9_999);
  });
});

describe('DependencyTracker', () => {
  it('releases a dependent when its last dependency is DONE', () => {
    const t = new DependencyTracker();
    expect(t.add('d', [ref('a'), ref('b'), ref('old', 'DONE')])).toBe('waiting');
    expect(t.add('e', [ref('old', 'DONE')])).toBe('ready');
    expect(t.edges).toBe(2);
    expect(t.settled('a', 'DONE', null)).toEqual([]);
    expect(t.settled('b', 'DONE', null)).toEqual([{ uid: 'd', ready: true }]);
    expect(t.settled('d', 'DONE', null)).toEqual([]);
    expect([t.size, t.edges]).toEqual([0, 0]);
  });

  it('fails dependents transitively, each with the cause chain to the root failure', () => {
    const t = new DependencyTracker();
    t.add('b', [ref('a')]);
    t.add('c', [ref('b')]);
    t.add('d', [ref('b'), ref('x')]);
    t.add('e', [ref('c'), ref('d')]);
    const root = new Error('root');
    const out = t.settled('a', 'FAILED', root);
    expect(out.map((o) => o.uid)).toEqual(['b', 'c', 'd', 'e']);
    const errors = Object.fromEntries(out.map((o) => [o.uid, (o as { error: DependencyError }).error]));
    expect(errors.e).toBeInstanceOf(DependencyError);
    expect([errors.e!.dependencyUid, errors.e!.message]).toEqual(['c', 'Task e: dependency c failed']);
    expect(errors.e!.cause).toBe(errors.c);
    expect((errors.c!.cause as DependencyError).cause).toBe(root);
    // the session sends DEPENDENCY_FAILED and reports each terminal transition: nothing more happens
    for (const o of out) expect(t.settled(o.uid, 'FAILED', (o as { error: Error }).error)).toEqual([]);
    expect(t.settled('x', 'DONE', null)).toEqual([]);
    expect([t.size, t.edges]).toEqual([0, 0]);
  });

  it('a canceled dependency says so; an already failed one fails the dependent at add', () => {
    const t = new DependencyTracker();
    t.add('b', [ref('a')]);
    const [o] = t.settled('a', 'CANCELED', new Error('canceled'));
    expect((o as { error: Error }).error.message).toBe('Task b: dependency a was canceled');
    const cause = new Error('exit 1');
    const err = t.add('late', [ref('done', 'DONE'), ref('bad', 'FAILED', cause)]) as DependencyError;
    expect([err.dependencyUid, err.cause, t.size]).toEqual(['bad', cause, 0]);
  });

  it('a dependent that settled while waiting is skipped, and a later task reusing its uid is not confused with it', () => {
    const t = new DependencyTracker();
    t.add('w', [ref('a')]);
    expect(t.settled('w', 'CANCELED', null)).toEqual([]);
    t.add('w', [ref('b')]); // a new task with the same uid, waiting for something else
    expect(t.settled('a', 'DONE', null)).toEqual([]);
    expect(t.settled('b', 'DONE', null)).toEqual([{ uid: 'w', ready: true }]);
  });

  it('holds nothing for a graph that has settled', () => {
    const t = new DependencyTracker();
    for (let i = 0; i < 1000; i++) t.add(`m${i}`, [ref('root')]);
    t.add(
      'sink',
      Array.from({ length: 1000 }, (_, i) => ref(`m${i}`)),
    );
    expect(t.edges).toBe(2000);
    expect(t.settled('root', 'DONE', null)).toHaveLength(1000);
    for (let i = 0; i < 999; i++) expect(t.settled(`m${i}`, 'DONE', null)).toEqual([]);
    expect(t.settled('m999', 'DONE', null)).toEqual([{ uid: 'sink', ready: true }]);
    t.settled('sink', 'DONE', null);
    expect([t.size, t.edges]).toEqual([0, 0]);
  });
});

describe('value substitution', () => {
  it('replaces dependencies by returnValue, stdout and response; in arguments by their text', () => {
    const f = settle(fn('s.f'), { returnValue: { n: 42 }, stdout: '{"n":42}' });
    const e = settle(exe('s.e'), { stdout: 'line 1\nline 2\n' });
    const ai = settle(new AITask({ uid: 's.ai', prompt: 'p', model: 'm' }), { response: 'a summary' });
    expect([dependencyValue(f), dependencyValue(e), dependencyValue(ai)]).toEqual([{ n: 42 }, 'line 1\nline 2\n', 'a summary']);
    expect([argumentOf(f), argumentOf(e), argumentOf(ai)]).toEqual(['{"n":42}', 'line 1\nline 2', 'a summary']);
    const t = fn('s.t', { args: [f, 1, futureOf(e)], kwargs: { summary: ai, k: 'v' } });
    const resolved = resolveInputs(t)!;
    expect(resolved).toMatchObject({ uid: 's.t', args: [{ n: 42 }, 1, 'line 1\nline 2\n'], kwargs: { summary: 'a summary', k: 'v' } });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect((resolved as unknown as { args: unknown[] }).args[0]).toBe(f.returnValue); // by reference, never copied
    expect(t.args[0]).toBe(f); // the user's task keeps what was given
    const x = exe('s.x', { arguments: ['--in', e, futureOf(f)] });
    expect(resolveInputs(x)).toMatchObject({ arguments: ['--in', 'line 1\nline 2', '{"n":42}'], executable: '/bin/echo' });
    expect(resolveInputs(fn('s.plain', { args: [1], dependsOn: [f] }))).toBeNull();
  });

  it('evaluates a prompt function on the results of dependsOn, in order', () => {
    const a = settle(exe('p.a'), { stdout: 'sim output\n' });
    const b = settle(fn('p.b'), { returnValue: 7 });
    const ai = new AITask({ uid: 'p.ai', model: 'm', dependsOn: [a, futureOf(b)], prompt: (deps) => [`Summarise: ${deps[0]!.stdout}`, `n=${deps[1]!.returnValue}`] });
    expect(resolveInputs(ai)).toMatchObject({ prompt: ['Summarise: sim output\n', 'n=7'], model: 'm' });
    const bad = new AITask({ uid: 'p.bad', model: 'm', dependsOn: [a], prompt: () => '' });
    expect(() => resolveInputs(bad)).toThrow(TaskValidationError);
    const throws = new AITask({
      uid: 'p.throws',
      model: 'm',
      dependsOn: [a],
      prompt: () => {
        throw new RangeError('no');
      },
    });
    expect(() => resolveInputs(throws)).toThrow(/p\.throws: prompt: the prompt function threw: no/);
  });

  it('a dependency that is not DONE has no value', () => {
    const pending = fn('n.pending');
    expect(() => resolveInputs(fn('n.t', { args: [pending] }))).toThrow(/n\.pending is NEW, not DONE/);
  });
});
