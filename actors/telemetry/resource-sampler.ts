import { execFile } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import type { ResourceReading } from '../../src/telemetry/telemetry-events.js';

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
  }
  return { idle, total };
}

/** Queries nvidia-smi; null when it is not installed or fails (then it is not asked again). */
function queryGpus(): Promise<ResourceReading['gpus'] | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=index,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(null);
      const gpus = stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [index, util, used, total] = line.split(',').map((x) => Number(x.trim()));
          return { index: index!, utilizationPercent: util!, memoryUsedMiB: used!, memoryTotalMiB: total! };
        });
      resolve(gpus);
    });
  });
}

/** Samples host CPU and memory, this process's memory, and GPUs through nvidia-smi when present. */
export class ResourceSampler {
  private last = cpuTimes();
  private gpusAvailable = true;

  async sample(): Promise<ResourceReading> {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const cpuPercent = total > 0 ? 100 * (1 - (now.idle - this.last.idle) / total) : 0;
    this.last = now;
    const mem = process.memoryUsage();
    const reading: ResourceReading = {
      cpuPercent,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      memUsedBytes: totalmem() - freemem(),
      memTotalBytes: totalmem(),
    };
    if (this.gpusAvailable) {
      const gpus = await queryGpus();
      if (gpus) reading.gpus = gpus;
      else this.gpusAvailable = false;
    }
    return reading;
  }
}
