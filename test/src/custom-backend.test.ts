import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Backend, ComputeTask, Session, TaskCanceledError, type ComputeTaskSpec, type Outcome, type TaskHandle, type TaskSpec } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A backend from public exports only: functions on the main loop, one at a time, with a cancelable wait. */
class OneAtATime extends Backend {
  readonly kind = 'execution' as const;
  busy = false;
  maxSeen = 0;
  private live = 0;
  constructor() {
    super('one');
  }
  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute' && typeof spec.function === 'function';
  }
  protected override reserve(): boolean {
    if (this.busy) return false;
    this.busy = true;
    return true;
  }
  protected override released(): void {
    this.busy = false;
  }
  protected async run(handle: TaskHandle): Promise<Outcome> {
    const h = handle as TaskHandle<ComputeTaskSpec>;
    h.start();
    this.maxSeen = Math.max(this.maxSeen, ++this.live);
    try {
      const ms = Number(h.spec.args[0] ?? 0);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        h.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()));
      });
      if (h.aborted) return { status: 'canceled' };
      return { status: 'done', returnValue: (h.spec.function as (ms: number) => unknown)(ms) };
    } finally {
      this.live--;
    }
  }
  protected async onStart(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

describe('a backend written against the public exports', () => {
  afterEach(() => undefined);

  it('runs in a session: capacity, results, failures, cancel and close', async () => {
    const backend = await new OneAtATime().start();
    const session = new Session({ backends: [backend] });
    const a = new ComputeTask({ function: (ms: number) => `slept ${ms}`, args: [20] });
    const b = new ComputeTask({
      function: () => {
        throw new Error('bad');
      },
      args: [0],
    });
    const c = new ComputeTask({ function: () => 'never', args: [60_000] });
    const d = new ComputeTask({ function: () => 'queued behind c', args: [0] });
    await session.submitTasks([a, b, c, d]);
    await expect(a).resolves.toMatchObject({ state: 'DONE', returnValue: 'slept 20' });
    await expect(b).rejects.toThrow('bad');
    while (c.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 5));
    expect(d.state).toBe('QUEUED');
    expect(await c.cancel()).toBe(true);
    await expect(c).rejects.toBeInstanceOf(TaskCanceledError);
    await expect(d).resolves.toMatchObject({ returnValue: 'queued behind c' });
    expect(backend.maxSeen).toBe(1);
    const e = new ComputeTask({ function: () => 'cut short', args: [60_000] });
    await session.submitTasks([e]);
    await session.close();
    expect(e.state).toBe('CANCELED');
    expect(backend.state).toBe('SHUTDOWN');
  });

  it('examples/09-custom-backend.ts runs beside a built-in backend and is inspected', async () => {
    const mark = markProcesses();
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'examples/09-custom-backend.ts', '--inspect'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(stdout).toMatch(/on shell: DONE hello from my own backend/);
    expect(stdout).toMatch(/on shell: FAILED Task \S+ \(\/bin\/sh\) exited with code 3: oops/);
    expect(stdout).toMatch(/on shell: CANCELED/);
    expect(stdout).toMatch(/on local: DONE 42/);
    expect(stdout).toMatch(/inspected: .*shell="SHUTDOWN"/);
    expect(stdout).toMatch(/task\.000003="CANCELED"/);
    await expectNoProcessesLeft(mark);
  }, 70_000);
});
