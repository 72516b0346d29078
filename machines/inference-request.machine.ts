import { assign, fromPromise, setup } from 'xstate';

export interface InferenceRequestContext {
  uid: string;
  /** attempts made so far (the current one included) */
  attempt: number;
  maxAttempts: number;
  /** first backoff in ms; doubles per retry */
  backoffMs: number;
  response: unknown;
  error: unknown;
}

export type InferenceRequestEvent = { type: 'SLOT' } | { type: 'CANCEL' };

/**
 * What makes a failed attempt worth another: the sender marks errors `retryable` (refused, 429, 5xx).
 *
 * @example
 * import { isRetryable } from 'rhapsody/machines';
 * isRetryable(Object.assign(new Error('HTTP 503'), { retryable: true })); // true
 * isRetryable(new Error('HTTP 404')); // false
 */
export const isRetryable = (error: unknown): boolean => (error as { retryable?: unknown } | null)?.retryable === true;

/**
 * One AITask's request to an inference backend. `queued` until the backend grants an in-flight slot,
 * `sending` while the `send` actor runs (the backend provides it; stopping it aborts the HTTP request
 * or generation), `backoff` between retryable failures (bounded, doubling delay), then `done`,
 * `failed` or `canceled`.
 *
 * @example
 * import { createActor, fromPromise, waitFor } from 'xstate';
 * const send = fromPromise<unknown, { uid: string; attempt: number }>(async ({ input }) => `answer for ${input.uid}`);
 * const request = createActor(inferenceRequestMachine.provide({ actors: { send } }), { input: { uid: 'ai.1', maxAttempts: 3 } }).start();
 * request.send({ type: 'SLOT' });
 * const { context } = await waitFor(request, (s) => s.matches('done')); // context.response: 'answer for ai.1'
 */
export const inferenceRequestMachine = setup({
  types: {
    context: {} as InferenceRequestContext,
    events: {} as InferenceRequestEvent,
    input: {} as { uid: string; maxAttempts?: number; backoffMs?: number },
  },
  actors: {
    send: fromPromise<unknown, { uid: string; attempt: number }>(async () => {
      throw new Error('send is provided by the inference backend');
    }),
  },
  guards: {
    canRetry: ({ context, event }) => isRetryable((event as { error?: unknown }).error) && context.attempt < context.maxAttempts,
  },
  delays: {
    backoff: ({ context }) => context.backoffMs * 2 ** (context.attempt - 1),
  },
  actions: {
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    recordResponse: assign({ response: ({ event }) => (event as { output?: unknown }).output }),
    recordError: assign({ error: ({ event }) => (event as { error?: unknown }).error }),
  },
}).createMachine({
  id: 'inferenceRequest',
  context: ({ input }) => ({ uid: input.uid, attempt: 0, maxAttempts: input.maxAttempts ?? 4, backoffMs: input.backoffMs ?? 250, response: undefined, error: null }),
  initial: 'queued',
  states: {
    queued: {
      on: { SLOT: 'sending', CANCEL: 'canceled' },
    },
    sending: {
      entry: 'countAttempt',
      invoke: {
        src: 'send',
        input: ({ context }) => ({ uid: context.uid, attempt: context.attempt }),
        onDone: { target: 'done', actions: 'recordResponse' },
        onError: [
          { guard: 'canRetry', target: 'backoff', actions: 'recordError' },
          { target: 'failed', actions: 'recordError' },
        ],
      },
      on: { CANCEL: 'canceled' },
    },
    backoff: {
      after: { backoff: 'sending' },
      on: { CANCEL: 'canceled' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
    canceled: { type: 'final' },
  },
});
