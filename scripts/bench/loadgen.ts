// The load generator: its own process, so its CPU is not the server's. It signs one distinct notification
// per order (before the clock starts), then either
//   closed: N requests over C keep-alive connections (autocannon), each connection sending its next request
//           when the previous answered — requests/s and latency at a concurrency;
//   open:   requests sent on a fixed schedule (R per second) whatever the server does, latency counted from
//           the scheduled time (no coordinated omission) — and each request's completion time recorded.
// Usage: node --import tsx scripts/bench/loadgen.ts <input.json> <output.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import type { SimCredentials } from '@/simulator/credentials';
import { notificationSigner, type OrderRef, type SignedNotification } from './lib/notifications';
import { exitWithParent } from './lib/procs';
import { nowMs, summarize, type LatencySummary } from './lib/stats';

exitWithParent();

export interface LoadInput {
  mode: 'closed' | 'open';
  /** Base URLs (one per web process); requests go round-robin. */
  targets: string[];
  path: string;
  orders: OrderRef[];
  credentialsFile: string;
  connections?: number;
  rate?: number;
  /** Stop waiting for answers after this long (ms). */
  timeoutMs: number;
}

export interface LoadOutput {
  mode: 'closed' | 'open';
  sent: number;
  completed: number;
  ok: number;
  non2xx: number;
  errors: number;
  elapsedMs: number;
  rps: number;
  latency: LatencySummary;
  signMs: number;
  /**
   * open mode: how late each request left against its schedule. Late sends are the load generator itself
   * starved of CPU (the machine was saturated), and count in the latency all the same.
   */
  sendLate?: LatencySummary;
  /** open mode: per request, when its 2xx arrived (epoch ms, high resolution). */
  done?: { outTradeNo: string; at: number; status: number }[];
  statusCounts: Record<string, number>;
}

const [inputArg, outputArg] = process.argv.slice(2);
if (!inputArg || !outputArg) throw new Error('usage: loadgen.ts <input.json> <output.json> (both files are required)');
const inputFile: string = inputArg;
const outputFile: string = outputArg;
const input = JSON.parse(readFileSync(inputFile, 'utf8')) as LoadInput;
const credentials = JSON.parse(readFileSync(input.credentialsFile, 'utf8')) as SimCredentials;

function sign(): { notes: SignedNotification[]; signMs: number } {
  const started = performance.now();
  const signer = notificationSigner(credentials);
  const notes = input.orders.map((o) => signer(o));
  return { notes, signMs: performance.now() - started };
}

async function closed(notes: SignedNotification[]): Promise<Omit<LoadOutput, 'signMs'>> {
  const connections = input.connections ?? 1;
  // Split connections and requests across targets (a round-robin balancer in front of N web processes).
  const shares = input.targets.map((url, i) => {
    const conns = Math.max(1, Math.floor(connections / input.targets.length) + (i < connections % input.targets.length ? 1 : 0));
    return { url, conns };
  });
  const activeShares = shares.slice(0, Math.min(shares.length, connections));
  const totalConns = activeShares.reduce((s, x) => s + x.conns, 0);
  let offset = 0;
  const parts = activeShares.map((s, i) => {
    const amount = i === activeShares.length - 1 ? notes.length - offset : Math.round((notes.length * s.conns) / totalConns);
    const slice = notes.slice(offset, offset + amount);
    offset += amount;
    return { ...s, slice };
  });
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  const started = performance.now();
  let lastResponseAt = started;
  await Promise.all(
    parts.map(
      (part) =>
        new Promise<void>((resolve, reject) => {
          let next = 0;
          const instance = autocannon(
            {
              url: `${part.url}${input.path}`,
              connections: Math.min(part.conns, part.slice.length),
              amount: part.slice.length,
              timeout: Math.ceil(input.timeoutMs / 1000),
              method: 'POST',
              requests: [
                {
                  method: 'POST',
                  setupRequest: (req: any) => {
                    // autocannon asks for `amount` = part.slice.length requests, so it never calls this on an empty slice.
                    const n = part.slice[next++ % part.slice.length]!;
                    return { ...req, method: 'POST', path: input.path, headers: n.headers, body: n.body };
                  },
                },
              ],
            },
            (err: unknown, result: any) => {
              if (err) return reject(err);
              errors += (result.errors ?? 0) + (result.timeouts ?? 0);
              resolve();
            },
          );
          (instance as any).on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
            lastResponseAt = performance.now();
            latencies.push(responseTime);
            statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
            if (statusCode < 200 || statusCode >= 300) non2xx++;
          });
        }),
    ),
  );
  // autocannon only notices the end on its next 1-second sampling tick: time the run to its last answer.
  const elapsedMs = lastResponseAt - started;
  const completed = latencies.length;
  return {
    mode: 'closed',
    sent: notes.length,
    completed,
    ok: completed - non2xx,
    non2xx,
    errors,
    elapsedMs,
    rps: (completed * 1000) / elapsedMs,
    latency: summarize(latencies),
    statusCounts,
  };
}

async function open(notes: SignedNotification[]): Promise<Omit<LoadOutput, 'signMs'>> {
  const rate = input.rate!;
  const agent = new Agent({ keepAlive: true, maxSockets: 2048, keepAliveMsecs: 10_000 });
  const latencies: number[] = [];
  const done: NonNullable<LoadOutput['done']> = [];
  const statusCounts: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let finished = 0;
  const targets = input.targets.map((t) => new URL(t));
  const late: number[] = [];
  const started = nowMs();
  let allDone!: () => void;
  const finishedAll = new Promise<void>((resolve) => (allDone = resolve));
  const settle = () => {
    if (++finished === notes.length) allDone();
  };

  const send = (i: number) => {
    const n = notes[i]!;
    const scheduled = started + (i * 1000) / rate;
    late.push(nowMs() - scheduled);
    const target = targets[i % targets.length];
    if (!target) throw new Error('loadgen: open mode needs at least one target URL in the input');
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: input.path,
        method: 'POST',
        agent,
        headers: { ...n.headers, 'content-length': Buffer.byteLength(n.body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const at = nowMs();
          const status = res.statusCode ?? 0;
          statusCounts[status] = (statusCounts[status] ?? 0) + 1;
          if (status < 200 || status >= 300) non2xx++;
          latencies.push(at - scheduled);
          done.push({ outTradeNo: n.outTradeNo, at, status });
          settle();
        });
      },
    );
    req.setTimeout(input.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      errors++;
      settle();
    });
    req.end(n.body);
  };

  // A fixed schedule: every tick sends whatever has fallen due, however many answers are outstanding.
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(notes.length, Math.floor(((nowMs() - started) * rate) / 1000) + 1);
      while (i < due) send(i++);
      if (i >= notes.length) return resolve();
      const nextAt = started + (i * 1000) / rate;
      setTimeout(tick, Math.max(0, nextAt - nowMs()));
    };
    tick();
  });
  const deadline = setTimeout(() => allDone(), input.timeoutMs + 1000);
  await finishedAll;
  clearTimeout(deadline);
  const elapsedMs = nowMs() - started;
  agent.destroy();
  return {
    mode: 'open',
    sent: notes.length,
    completed: latencies.length,
    ok: latencies.length - non2xx,
    non2xx,
    errors,
    elapsedMs,
    rps: (latencies.length * 1000) / elapsedMs,
    latency: summarize(latencies),
    sendLate: summarize(late),
    done,
    statusCounts,
  };
}

async function main() {
  const { notes, signMs } = sign();
  const result = input.mode === 'closed' ? await closed(notes) : await open(notes);
  const output: LoadOutput = { ...result, signMs };
  writeFileSync(outputFile, JSON.stringify(output));
  process.exit(0);
}

main().catch((err) => {
  console.error('[loadgen]', err);
  process.exit(1);
});
