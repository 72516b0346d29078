import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Marks this test process's environment so that every process it starts (spawners, pool workers,
 * executables and their grandchildren, even orphaned ones) can be found again in /proc.
 */
export function markProcesses(): string {
  const mark = randomUUID();
  process.env.RHAPSODY_TEST_MARK = mark;
  return mark;
}

/** pids (other than ours) whose environment carries the mark, with their command lines. */
export function processesWithMark(mark: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (!env.includes(`RHAPSODY_TEST_MARK=${mark}`)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue; // zombie awaiting its reaper
      found.push({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Waits until no marked process is left (processes take a moment to be reaped). */
export async function expectNoProcessesLeft(mark: string, withinMs = 3000): Promise<void> {
  const until = Date.now() + withinMs;
  let left = processesWithMark(mark);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesWithMark(mark);
  }
  if (left.length) throw new Error(`processes left running: ${JSON.stringify(left)}`);
}

/** Active handles that own a process or pipe (timers and the like are vitest's). */
export function processHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap');
}
