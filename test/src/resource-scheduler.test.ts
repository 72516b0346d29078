import { describe, expect, it } from 'vitest';
import { ResourceScheduler } from '../../src/hpc/resource-scheduler.js';

const nodes = [
  { hostname: 'n1', cpus: 4, gpus: [0, 1, 2, 3] },
  { hostname: 'n2', cpus: 4, gpus: [0, 1, 2, 3] },
];

describe('ResourceScheduler', () => {
  it('allocates exact GPUs, any-n GPUs and hosts; releases them', () => {
    const s = new ResourceScheduler(nodes);
    const a = s.tryAllocate([{ hostName: 'n2', gpuIds: [2] }, { gpuCount: 2 }])!;
    expect(a).toEqual([
      { hostname: 'n2', gpus: [2], cpus: [], owned: [2] },
      { hostname: 'n1', gpus: [0, 1], cpus: [], owned: [0, 1] },
    ]);
    expect(s.freeGpus()).toEqual({ n1: [2, 3], n2: [0, 1, 3] });
    expect(s.tryAllocate([{ hostName: 'n2', gpuIds: [2] }])).toBeNull();
    s.release(a);
    expect(s.freeGpus()).toEqual({ n1: [0, 1, 2, 3], n2: [0, 1, 2, 3] });
  });

  it('ranks of one job share a pinned GPU; other jobs wait for it', () => {
    const s = new ResourceScheduler(nodes);
    const job = s.tryAllocate([
      { hostName: 'n1', gpuIds: [0] },
      { hostName: 'n1', gpuIds: [0] },
    ])!;
    expect(job.map((a) => a.gpus)).toEqual([[0], [0]]);
    expect(s.tryAllocate([{ hostName: 'n1', gpuIds: [0] }])).toBeNull();
    s.release(job);
    expect(s.freeGpus().n1).toEqual([0, 1, 2, 3]);
  });

  it('is all-or-nothing for a job', () => {
    const s = new ResourceScheduler(nodes);
    s.tryAllocate([{ gpuCount: 4 }, { gpuCount: 3 }]);
    expect(s.tryAllocate([{ gpuCount: 1 }, { gpuCount: 1 }])).toBeNull();
    expect(s.freeGpus()).toEqual({ n1: [], n2: [3] });
  });

  it('limits processes to cpus × oversubscribe slots', () => {
    const s = new ResourceScheduler([{ hostname: 'h', cpus: 2, gpus: [] }], 2);
    expect(s.tryAllocate(Array.from({ length: 4 }, () => ({})))).toHaveLength(4);
    expect(s.tryAllocate([{}])).toBeNull();
    expect(s.unsatisfiable(Array.from({ length: 5 }, () => ({})))).toMatch(/do not fit/);
  });

  it('names what can never be satisfied', () => {
    const s = new ResourceScheduler(nodes);
    expect(s.unsatisfiable([{ hostName: 'n9' }])).toMatch(/unknown host "n9"/);
    expect(s.unsatisfiable([{ gpuIds: [7] }])).toMatch(/GPU 7 does not exist/);
    expect(s.unsatisfiable([{ gpuCount: 5 }])).toMatch(/asks for 5 GPUs, the most a node has is 4/);
    expect(s.unsatisfiable([{ cpuIds: [9] }])).toMatch(/CPU 9 does not exist/);
    expect(s.unsatisfiable([{ hostName: 'n1', gpuIds: [3] }])).toBeNull();
  });
});
