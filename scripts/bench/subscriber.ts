// Live-status subscribers, in their own process: one `checkout.onStatus` SSE stream per order, as the
// shopper's checkout page opens it. Reports, per order, the moment its `paid` event arrived.
// Protocol (IPC): parent sends {tokens, targets}; we answer {type:'ready'} once every stream delivered its
// first view; parent sends {type:'finish', graceMs}; we answer {type:'result', paidAt} and exit.
import { exitWithParent } from './lib/procs';
import { nowMs } from './lib/stats';

exitWithParent();

interface Start {
  type: 'start';
  tokens: string[];
  targets: string[];
}
interface Finish {
  type: 'finish';
  graceMs: number;
}

const paidAt: Record<string, number> = {};
const failures: string[] = [];
const controller = new AbortController();
let remaining = 0;
let allPaid: (() => void) | undefined;

async function subscribe(base: string, token: string, onFirst: () => void): Promise<void> {
  const input = encodeURIComponent(JSON.stringify({ json: { token } }));
  const res = await fetch(`${base}/api/trpc/checkout.onStatus?input=${input}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`SSE ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let first = true;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const at = nowMs();
    buffer += decoder.decode(chunk, { stream: true });
    let idx: number;
    while ((idx = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const lines = event.split('\n');
      const type = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      if (!data || type === 'ping' || type === 'connected') continue;
      let view: { status?: string } | undefined;
      try {
        const parsed = JSON.parse(data);
        view = parsed?.json ?? parsed;
      } catch {
        continue;
      }
      if (first) {
        first = false;
        onFirst();
      }
      if (view?.status === 'paid' && paidAt[token] === undefined) {
        paidAt[token] = at;
        if (--remaining === 0) allPaid?.();
        return; // the shopper's page is done: close the stream
      }
    }
  }
}

async function start(msg: Start) {
  remaining = msg.tokens.length;
  let ready = 0;
  let next = 0;
  const opened = new Promise<void>((resolve) => {
    const onFirst = () => {
      if (++ready === msg.tokens.length) resolve();
    };
    // Open streams a few at a time, as shoppers arrive, rather than as one stampede.
    const openNext = async () => {
      while (next < msg.tokens.length) {
        const i = next++;
        const token = msg.tokens[i]!;
        const done = new Promise<void>((firstSeen) => {
          // The parent sends the cluster's web URLs: at least one.
          subscribe(msg.targets[i % msg.targets.length]!, token, () => {
            onFirst();
            firstSeen();
          }).catch((err) => {
            if (!controller.signal.aborted) failures.push(`${token.slice(0, 6)}: ${err instanceof Error ? err.message : err}`);
            firstSeen();
            onFirst();
          });
        });
        await done;
      }
    };
    for (let k = 0; k < 32; k++) void openNext();
    if (msg.tokens.length === 0) resolve();
  });
  await opened;
  process.send!({ type: 'ready', failures: failures.length });
}

async function finish(msg: Finish) {
  if (remaining > 0) {
    await Promise.race([new Promise<void>((resolve) => (allPaid = resolve)), new Promise((r) => setTimeout(r, msg.graceMs))]);
  }
  controller.abort();
  process.send!({ type: 'result', paidAt, failures }, () => process.exit(0));
}

process.on('message', (msg: Start | Finish) => {
  if (msg.type === 'start') void start(msg);
  else if (msg.type === 'finish') void finish(msg);
});
