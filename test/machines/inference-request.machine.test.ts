import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { inferenceRequestMachine } from '../../machines/inference-request.machine.js';

const retryable = () => Object.assign(new Error('503'), { retryable: true });

/** The chart with a `send` that answers from a script of outcomes, one per attempt. */
function scripted(outcomes: Array<'ok' | 'retry' | 'fatal' | 'hang'>, seen: AbortSignal[] = []) {
  return inferenceRequestMachine.provide({
    actors: {
      send: fromPromise(async ({ input, signal }) => {
        seen.push(signal);
        const o = outcomes[input.attempt - 1];
        if (o === 'ok') return `answer ${input.attempt}`;
        if (o === 'retry') throw retryable();
        if (o === 'hang') return new Promise(() => undefined);
        throw new Error('400 bad request');
      }),
    },
  });
}

describe('inference request chart', () => {
  it('reaches done, failed and canceled; nothing leaves a final state', () => {
    const paths = getShortestPaths(inferenceRequestMachine, { events: [{ type: 'SLOT' }, { type: 'CANCEL' }], input: { uid: 't' } });
    const states = new Set(paths.map((p) => p.state.value as string));
    expect(states).toContain('canceled');
    expect(states).toContain('sending');
    for (const p of paths) if (p.state.status === 'done') expect(['done', 'failed', 'canceled']).toContain(p.state.value);
  });

  it('retries retryable failures with doubling backoff, then succeeds', async () => {
    const clock = new SimulatedClock();
    const a = createActor(scripted(['retry', 'retry', 'ok']), { input: { uid: 't', backoffMs: 100 }, clock }).start();
    a.send({ type: 'SLOT' });
    await waitFor(a, (s) => s.value === 'backoff');
    clock.increment(99);
    expect(a.getSnapshot().value).toBe('backoff');
    clock.increment(1);
    await waitFor(a, (s) => s.value === 'backoff' && s.context.attempt === 2);
    clock.increment(199);
    expect(a.getSnapshot().value).toBe('backoff');
    clock.increment(1);
    const done = await waitFor(a, (s) => s.status === 'done');
    expect(done.value).toBe('done');
    expect(done.context.response).toBe('answer 3');
  });

  it('bounds the attempts', async () => {
    const clock = new SimulatedClock();
    const a = createActor(scripted(['retry', 'retry', 'retry']), { input: { uid: 't', maxAttempts: 2, backoffMs: 10 }, clock }).start();
    a.send({ type: 'SLOT' });
    await waitFor(a, (s) => s.value === 'backoff');
    clock.increment(10);
    const end = await waitFor(a, (s) => s.status === 'done');
    expect(end.value).toBe('failed');
    expect(end.context.attempt).toBe(2);
  });

  it('fails at once on an error that is not retryable', async () => {
    const a = createActor(scripted(['fatal']), { input: { uid: 't' } }).start();
    a.send({ type: 'SLOT' });
    const end = await waitFor(a, (s) => s.status === 'done');
    expect(end.value).toBe('failed');
    expect((end.context.error as Error).message).toBe('400 bad request');
  });

  it('cancel while sending aborts the request', async () => {
    const seen: AbortSignal[] = [];
    const a = createActor(scripted(['hang'], seen), { input: { uid: 't' } }).start();
    a.send({ type: 'SLOT' });
    await waitFor(a, (s) => s.value === 'sending');
    a.send({ type: 'CANCEL' });
    expect(a.getSnapshot().value).toBe('canceled');
    expect(seen[0]!.aborted).toBe(true);
  });
});
