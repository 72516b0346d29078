import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, HpcExecutionBackend, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

// the local launcher's ranks through each spawner: stdin, merged stderr, env, the output cap
describe.each(['native', 'node'] as const)('HPC local ranks (%s spawner)', (spawner) => {
  it('feeds stdin, merges stderr, sets env, spills a rank past the cap', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'rh-hpc-spawn-'));
    const hpc = await HpcExecutionBackend.create({ nodes: [{ hostname: 'n0', cpus: 2, gpus: [] }], spawner, maxOutputBytes: 4096 });
    expect(hpc.spawnerKind).toBe(spawner);
    await using s = new Session({ backends: [hpc], workDir });
    const job = new ComputeTask({
      uid: 'job',
      executable: '/bin/sh',
      arguments: ['-c', 'read line; echo "$RHAPSODY_RANK:$line:$HPC_VAR"; sleep 0.1; echo err >&2'],
      taskBackendSpecificKwargs: { processTemplates: [[2, { stdin: 'hello\n', stderr: 'stdout', env: { HPC_VAR: 'v' } }]] },
    });
    const big = new ComputeTask({ uid: 'big', executable: 'head', arguments: ['-c', '100000', '/dev/zero'], taskBackendSpecificKwargs: { processTemplate: {} } });
    await s.submitTasks([job, big]);
    await s.waitTasks([job, big]);
    expect(job.state).toBe('DONE');
    expect(job.ranks!.map((r) => r.stdout)).toEqual(['0:hello:v\nerr\n', '1:hello:v\nerr\n']);
    expect(big.state).toBe('DONE');
    const file = join(workDir, s.uid, 'big.rank0.stdout');
    expect(big.stdout!.slice(4096)).toBe(`\n[rhapsody: stdout was 100000 bytes, over the 4096-byte in-memory cap; all of it is in ${file}]\n`);
    expect((await stat(file)).size).toBe(100000);
  });
});
