// A backend of your own, written only against the public exports (docs/writing-a-backend.md):
// `Backend` (the run loop: admission, capacity, cancel, shutdown), the `TaskHandle` each run gets,
// and `processFailure` (the one message builder for a process that failed).
// Run: npx tsx examples/09-custom-backend.ts [--inspect]   (--inspect: list what the Stately inspector saw)
import { spawn } from 'node:child_process';
import { createInspector } from '@statelyai/inspect';
import { Backend, ComputeTask, ConcurrentExecutionBackend, Session, processFailure, type ComputeTaskSpec, type Outcome, type TaskHandle, type TaskSpec } from 'rhapsody';

/** Runs executables with plain `child_process.spawn`, at most `slots` at a time, each in its own process group. */
class ShellBackend extends Backend {
  readonly kind = 'execution' as const;
  private running = 0;

  constructor(private readonly slots = 2) {
    super('shell');
  }

  static create(slots?: number): Promise<ShellBackend> {
    return new ShellBackend(slots).start();
  }

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute' && spec.executable !== undefined;
  }

  // the capacity predicate: the run loop keeps the rest QUEUED
  protected override reserve(): boolean {
    if (this.running >= this.slots) return false;
    this.running++;
    return true;
  }

  protected override released(): void {
    this.running--;
  }

  protected run(handle: TaskHandle): Promise<Outcome> {
    const h = handle as TaskHandle<ComputeTaskSpec>;
    const { executable, arguments: args } = h.spec;
    return new Promise<Outcome>((resolve) => {
      const child = spawn(executable!, [...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      // cancel and shutdown abort the handle: kill the whole process group
      h.onAbort(() => child.pid && process.kill(-child.pid, 'SIGKILL'));
      child.once('spawn', () => h.start());
      child.once('error', (err) => resolve({ status: 'failed', error: processFailure(h.uid, { exitCode: null, signal: null, stderr, error: err.message }, { program: executable, cause: err }) }));
      child.once('close', (exitCode, signal) => {
        if (h.aborted) return resolve({ status: 'canceled' });
        if (exitCode === 0) return resolve({ status: 'done', exitCode, stdout, stderr });
        const error = processFailure(h.uid, { exitCode, signal, stderr }, { label: `(${executable})` });
        resolve({ status: 'failed', error, exitCode, stdout, stderr });
      });
    });
  }

  protected async onStart(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const shell = await ShellBackend.create(2);
const local = await ConcurrentExecutionBackend.create({ name: 'local', executor: 'inline' });
// the inspector sees this backend's chart and its tasks like any other (offline: a custom adapter)
const seen = new Map<string, string>();
const inspector = process.argv.includes('--inspect')
  ? createInspector({
      send: (e: any) => {
        const c = e.snapshot?.context;
        if (e.type === '@xstate.snapshot' && (c?.name || c?.uid)) seen.set(e.sessionId, `${c.name ?? c.uid}=${JSON.stringify(e.snapshot.value)}`);
      },
    })
  : undefined;
const session = new Session({ backends: [shell, local], inspect: inspector?.inspect });
try {
  const tasks = [
    new ComputeTask({ executable: '/bin/echo', arguments: ['hello from my own backend'], backend: 'shell' }),
    new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo oops >&2; exit 3'], backend: 'shell' }),
    new ComputeTask({ executable: '/bin/sleep', arguments: ['30'], backend: 'shell' }),
    new ComputeTask({ function: (a: number, b: number) => a * b, args: [6, 7], backend: 'local' }),
  ];
  await session.submitTasks(tasks);
  await tasks[2]!.cancel();
  await session.waitTasks(tasks);
  for (const t of tasks) console.log(`${t.uid} on ${t.backend}: ${t.state} ${t.state === 'DONE' ? (t.stdout ?? '').trim() : t.exception?.message}`);
} finally {
  await session.close();
}
if (inspector) {
  await new Promise((r) => setTimeout(r, 50)); // the inspector hands events over asynchronously
  console.log(`inspected: ${[...new Set(seen.values())].sort().join(', ')}`);
}
