import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, HpcExecutionBackend, Policy, ResourceError, Session, SessionError, System, TaskCanceledError, TaskExecutionError, TaskValidationError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';
import { checkGpuExclusivity, findGpus, gpuProbe, makePolicies } from '../helpers-hpc.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

const NODES = [
  { hostname: 'node-0', cpus: 4, gpus: [0, 1, 2, 3] },
  { hostname: 'node-1', cpus: 4, gpus: [0, 1, 2, 3] },
];
const newSession = async (nodes = NODES) => new Session({ backends: [await HpcExecutionBackend.create({ nodes })] });
const echoRank = ['-c', 'echo "$RHAPSODY_RANK/$RHAPSODY_WORLD_SIZE@$RHAPSODY_HOSTNAME local=$RHAPSODY_LOCAL_RANK gpu=[$CUDA_VISIBLE_DEVICES] $RANK $WORLD_SIZE $MASTER_ADDR:$MASTER_PORT"'];

describe('HpcExecutionBackend, local launcher', () => {
  it('runs the four routing modes for executables and functions', async () => {
    await using s = await newSession();
    const parallelExe = new ComputeTask({
      executable: '/bin/bash',
      arguments: echoRank,
      taskBackendSpecificKwargs: {
        processTemplates: [
          [2, {}],
          [2, {}],
        ],
      },
    });
    const parallelFn = new ComputeTask({
      function: async () => Number(process.env.RHAPSODY_RANK) * 10,
      taskBackendSpecificKwargs: {
        processTemplates: [
          [2, {}],
          [2, {}],
        ],
      },
    });
    const singleExe = new ComputeTask({ executable: '/bin/bash', arguments: ['-c', 'echo $HOSTNAME-ish; echo err >&2'], taskBackendSpecificKwargs: { processTemplate: {} } });
    const singleFn = new ComputeTask({ function: (a: number) => a + 1, args: [41], taskBackendSpecificKwargs: { processTemplate: {} } });
    const nativeFn = new ComputeTask({ function: async () => (await import('node:os')).hostname() });
    const plainExe = new ComputeTask({ executable: '/bin/echo', arguments: ['plain'] });
    const tasks = [parallelExe, parallelFn, singleExe, singleFn, nativeFn, plainExe];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.state)).toEqual(Array(6).fill('DONE'));

    const lines = parallelExe.stdout!.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['0/4@node-0', '1/4@node-0', '2/4@node-0', '3/4@node-0']);
    expect(lines[1]).toMatch(/^1\/4@node-0 local=1 gpu=\[\] 1 4 node-0:\d+$/);
    expect(parallelExe.returnValue).toEqual([0, 0, 0, 0]);
    expect(parallelExe.ranks!.map((r) => [r.rank, r.hostname, r.exitCode])).toEqual([
      [0, 'node-0', 0],
      [1, 'node-0', 0],
      [2, 'node-0', 0],
      [3, 'node-0', 0],
    ]);
    expect(parallelExe.exitCode).toBe(0);
    expect(parallelFn.returnValue).toEqual([0, 10, 20, 30]);
    expect(singleExe.stdout).toMatch(/-ish\n$/);
    expect(singleExe.stderr).toBe('err\n');
    expect(singleFn.returnValue).toBe(42);
    expect(typeof nativeFn.returnValue).toBe('string');
    expect(plainExe.stdout).toBe('plain\n');
  });

  it('an inspected backend spawns a process-group actor per job with a rank actor per process', async () => {
    const seen: Array<{ type: string; actorRef?: { id?: string }; snapshot?: { value?: unknown } }> = [];
    const hpc = await HpcExecutionBackend.create({ nodes: NODES });
    await using s = new Session({ backends: [hpc], inspect: (e) => seen.push(e as never) });
    const job = new ComputeTask({ uid: 'inspected-job', executable: '/bin/true', taskBackendSpecificKwargs: { processTemplates: [[2, {}]] } });
    await s.submitTasks([job]);
    await job;
    const actors = seen.filter((e) => e.type === '@xstate.actor').map((e) => e.actorRef?.id);
    expect(actors).toEqual(expect.arrayContaining(['inspected-job.group', 'rank-0', 'rank-1']));
    const groupStates = seen.filter((e) => e.type === '@xstate.snapshot' && e.actorRef?.id === 'inspected-job.group').map((e) => e.snapshot?.value);
    expect(groupStates).toEqual(expect.arrayContaining(['running', 'done']));
  });

  it('pins GPUs by policy: CUDA_VISIBLE_DEVICES is exactly the policy GPUs (make_policies round robin)', async () => {
    const hpc = await HpcExecutionBackend.create({ nodes: NODES });
    await using s = new Session({ backends: [hpc] });
    const { nodes } = await System.discover(hpc);
    const policies = makePolicies(findGpus(nodes), 4);
    expect(policies.map((p) => `${p.hostName}:${p.gpuAffinity}`)).toEqual(['node-0:0', 'node-0:1', 'node-0:2', 'node-0:3']);
    const single = new ComputeTask({
      function: async () => `${process.env.RHAPSODY_HOSTNAME}|${process.env.CUDA_VISIBLE_DEVICES}`,
      taskBackendSpecificKwargs: { processTemplate: { policy: policies[0] } },
    });
    const parallel = new ComputeTask({
      function: async () => `${process.env.RHAPSODY_HOSTNAME}|${process.env.CUDA_VISIBLE_DEVICES}`,
      taskBackendSpecificKwargs: {
        processTemplates: [
          [2, { policy: policies[1] }],
          [2, { policy: new Policy({ placement: Policy.Placement.HOST_NAME, hostName: 'node-1', gpuAffinity: [2, 3] }) }],
        ],
      },
    });
    const anyTwo = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo $CUDA_VISIBLE_DEVICES'], taskBackendSpecificKwargs: { processTemplate: { policy: { gpus: 2 } } } });
    await s.submitTasks([single, parallel, anyTwo]);
    await s.waitTasks([single, parallel, anyTwo]);
    expect(single.returnValue).toBe('node-0|0');
    expect(parallel.returnValue).toEqual(['node-0|1', 'node-0|1', 'node-1|2,3', 'node-1|2,3']);
    expect(anyTwo.stdout!.trim().split(',')).toHaveLength(2);
  });

  it('8 single-GPU tasks on 4 GPUs: never more than 4 at once, each on a distinct GPU', async () => {
    await using s = await newSession([{ hostname: 'gpu-node', cpus: 8, gpus: [0, 1, 2, 3] }]);
    const tasks = Array.from({ length: 8 }, () => gpuProbe());
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 30_000 });
    expect(tasks.every((t) => t.state === 'DONE')).toBe(true);
    const { maxConcurrent } = checkGpuExclusivity(tasks, 4);
    expect(maxConcurrent).toBe(4);
  });

  it('template fields target/args/kwargs and bad policies are TaskValidationErrors; nothing is submitted', async () => {
    await using s = await newSession();
    const good = new ComputeTask({ executable: '/bin/true' });
    for (const bad of [
      { processTemplate: { target: '/bin/ls' } },
      { processTemplates: [[2, { args: ['x'] }]] },
      { processTemplate: { kwargs: {} } },
      { processTemplate: { policy: { placement: 'HOST_NAME' } } },
      { processTemplates: [[0, {}]] },
      { processTemplate: { stdout: 'sideways' } },
    ]) {
      const t = new ComputeTask({ uid: `bad-${Math.random().toString(36).slice(2, 8)}`, executable: '/bin/true', taskBackendSpecificKwargs: bad });
      const err = await s.submitTasks([good, t]).catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).toBeInstanceOf(TaskValidationError);
      expect((err as TaskValidationError).message).toContain(t.uid);
      expect(good.state).toBe('NEW');
    }
    await expect(s.submitTasks([good, good])).rejects.toBeInstanceOf(SessionError);
  });

  it('requests no node can ever satisfy fail at once with ResourceError', async () => {
    await using s = await newSession();
    const tasks = [
      new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplate: { policy: { placement: Policy.Placement.HOST_NAME, hostName: 'nowhere' } } } }),
      new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplate: { policy: { gpus: 5 } } } }),
      new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplate: { policy: { gpuAffinity: [9] } } } }),
    ];
    await s.submitTasks(tasks);
    const results = await Promise.allSettled(tasks);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ResourceError);
    expect(tasks[0]!.exception!.message).toMatch(/unknown host "nowhere"/);
    expect(tasks[1]!.exception!.message).toMatch(/asks for 5 GPUs/);
    expect(tasks[2]!.exception!.message).toMatch(/GPU 9 does not exist/);
  });

  it('a rank that fails ends the job FAILED with its exit code and stops the other ranks', async () => {
    await using s = await newSession();
    const job = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'if [ "$RHAPSODY_RANK" = 2 ]; then sleep 0.2; exit 7; fi; sleep 71'],
      taskBackendSpecificKwargs: {
        processTemplates: [
          [2, {}],
          [2, {}],
        ],
      },
    });
    const killed = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', '[ "$RHAPSODY_RANK" = 1 ] && kill -9 $$; sleep 72'], taskBackendSpecificKwargs: { processTemplates: [[2, {}]] } });
    const fnFails = new ComputeTask({
      function: () => {
        if (process.env.RHAPSODY_RANK === '1') throw new RangeError('rank 1 broke');
        return 1;
      },
      taskBackendSpecificKwargs: { processTemplates: [[2, {}]] },
    });
    await s.submitTasks([job, killed, fnFails]);
    await s.waitTasks([job, killed, fnFails], { timeout: 20_000 });
    expect(job.state).toBe('FAILED');
    expect(job.exitCode).toBe(7);
    expect(job.exception).toBeInstanceOf(TaskExecutionError);
    expect(job.exception!.message).toMatch(/rank 2 on node-0 exited with code 7/);
    expect(job.ranks!.find((r) => r.rank === 2)!.exitCode).toBe(7);
    expect(killed.exception).toMatchObject({ signal: 'SIGKILL' });
    expect(fnFails.exception).toBeInstanceOf(RangeError);
    expect(processesWithMark(mark).filter((p) => /sleep 7[12]/.test(p.cmd))).toEqual([]);
  });

  it('cancel of a running multi-node job kills every rank, frees its GPUs, and the next queued job starts', async () => {
    await using s = await newSession([
      { hostname: 'a', cpus: 2, gpus: [0] },
      { hostname: 'b', cpus: 2, gpus: [0] },
    ]);
    const big = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'sleep 73'],
      taskBackendSpecificKwargs: {
        processTemplates: [
          [1, { policy: { hostName: 'a', gpus: 1 } }],
          [1, { policy: { hostName: 'b', gpus: 1 } }],
        ],
      },
    });
    const next = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'echo got $CUDA_VISIBLE_DEVICES on $RHAPSODY_HOSTNAME'],
      taskBackendSpecificKwargs: { processTemplate: { policy: { hostName: 'a', gpuAffinity: [0] } } },
    });
    await s.submitTasks([big, next]);
    while (processesWithMark(mark).filter((p) => p.cmd.includes('sleep 73')).length < 2) await new Promise((r) => setTimeout(r, 20));
    expect(next.state).toBe('QUEUED');
    expect(await big.cancel()).toBe(true);
    await expect(big).rejects.toBeInstanceOf(TaskCanceledError);
    expect(processesWithMark(mark).filter((p) => p.cmd.includes('sleep 73'))).toEqual([]);
    expect((await next).stdout).toBe('got 0 on a\n');
  });
});
