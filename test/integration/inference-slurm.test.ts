// A managed model service launched as a SLURM step (real 2-node cluster with fake GPUs, started by
// test/global-setup.ts): SLURM gives it its GPUs, requests reach it, shutdown ends the step.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AITask, Policy, Session, VllmInferenceBackend } from '../../src/index.js';
import { SENTENCE, tinyModel } from '../inference/model-fixture.js';

const SLURM_DIR = process.env.RHAPSODY_SLURM_DIR ?? '/tmp/rhapsody-slurm';

beforeAll(() => {
  const conf = `${SLURM_DIR}/etc/slurm.conf`;
  if (!existsSync(conf)) throw new Error(`no SLURM cluster: ${conf} is missing (npm test starts it with test/engines/slurm-up.sh)`);
  process.env.SLURM_CONF = conf;
  execFileSync('sinfo', ['-h'], { stdio: 'pipe' });
});

/** The service's SLURM jobs, as "name node". */
const steps = () =>
  execFileSync('squeue', ['-h', '-o', '%j %N'], { encoding: 'utf8' })
    .split('\n')
    .filter((j) => j.startsWith('rhapsody-svc-'));

describe('VllmInferenceBackend with launcher srun', () => {
  it('runs the service as a SLURM step on the node and with the GPUs its policy asks for, and ends the step on shutdown', async () => {
    const seen = join(mkdtempSync(join(tmpdir(), 'rh-svc-')), 'gpus');
    const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
    const serve = `echo "$CUDA_VISIBLE_DEVICES" > ${seen}; exec ${process.execPath} --import tsx ${cli} serve-model --model {model} --model-name tiny --host {host} --port {port}`;
    const svc = await VllmInferenceBackend.create({
      name: 'slurm-svc',
      model: tinyModel(),
      servedModelName: 'tiny',
      launcher: 'srun',
      policy: new Policy({ hostName: 'n2', gpuAffinity: [0, 1] }),
      command: ['/bin/sh', '-c', serve],
    });
    const session = new Session({ backends: [svc] });
    try {
      expect(steps()).toHaveLength(1);
      expect(steps()[0]).toMatch(/ n2$/); // placed by the policy
      expect(readFileSync(seen, 'utf8').trim().split(',')).toHaveLength(2);
      const t = new AITask({ prompt: 'Summarize the run', model: 'tiny' });
      await session.submitTasks([t]);
      expect((await t).response).toBe(SENTENCE);
    } finally {
      await session.close();
    }
    const until = Date.now() + 10_000;
    while (steps().length && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(steps()).toEqual([]);
  }, 90_000);
});
