import { describe, expect, it } from 'vitest';
import { checkHpcExamples, runExample } from './helpers-hpc.js';

describe.each(['local', 'mpi'])('HPC examples on the %s launcher', (launcher) => {
  it('03, 04 and 05 run and print what the guide shows', async () => {
    const [e03, e04, e05] = await Promise.all(['03-hpc-process-groups', '04-gpu-affinity', '05-heterogeneous'].map((f) => runExample(`examples/${f}.ts`, launcher)));
    checkHpcExamples({ e03: e03!, e04: e04!, e05: e05! });
    // the inventory is made up here: each example says so on screen
    for (const out of [e03!, e04!, e05!]) expect(out.split('\n')[0]).toMatch(new RegExp(`^\\(${launcher} launcher: \\S+ gets 4 pretend GPUs, 0-3, so that GPU placement runs on any machine\\)$`));
  }, 180_000);
});
