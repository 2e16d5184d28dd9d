// Resource sampling from /proc: resident memory of a process and everything it spawned.
import { readdirSync, readFileSync } from 'node:fs';

function ppidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const ppid = ppidOf(pid);
    if (ppid === null) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** VmRSS in MB of one process (0 if gone). */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function treeRssMb(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + rssMb(pid), 0);
}

/**
 * CPU time (user + system) in seconds of a process tree, from /proc/<pid>/stat (clock ticks of 10 ms).
 * Each live process counts its own time plus its reaped children's (cutime/cstime), so short-lived
 * descendants that already exited (autovacuum workers, say) are not lost.
 */
export function treeCpuSeconds(root: number, filter?: (cmdline: string) => boolean): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      if (filter && !filter(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {}
  }
  return ticks / 100;
}

/** Periodically records the maximum of some readings; stop() returns the peaks. */
export function samplePeaks(read: () => Record<string, number> | Promise<Record<string, number>>, intervalMs = 250) {
  const peaks: Record<string, number> = {};
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    try {
      const values = await read();
      for (const [k, v] of Object.entries(values)) peaks[k] = Math.max(peaks[k] ?? -Infinity, v);
    } catch {
      // a sample lost to a busy database is not worth failing the run
    } finally {
      busy = false;
    }
  };
  void take();
  const timer = setInterval(() => void take(), intervalMs);
  return {
    async stop(): Promise<Record<string, number>> {
      clearInterval(timer);
      await take();
      return { ...peaks };
    },
  };
}
