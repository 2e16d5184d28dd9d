// The simulator's own pino logger (simulator/log.ts): the conventions of server/log.ts — level from LOG_LEVEL,
// JSON lines when asked (production), secrets redacted.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimLogger } from '../../simulator/log';

function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const saved = process.env.LOG_LEVEL;
afterEach(() => {
  if (saved === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = saved;
});

describe('simulator logger', () => {
  it('writes JSON lines with its process name and redacts keys', () => {
    const out = sink();
    const log = createSimLogger({ json: true, destination: out.stream });
    log.info({ credentials: { apiv3Key: 'k'.repeat(32), privateKeyPem: '-----BEGIN' } }, 'listening');
    const [line] = out.lines();
    expect(line).toMatchObject({ msg: 'listening', proc: 'wechatpay-simulator', level: 30 });
    expect(JSON.stringify(line)).not.toContain('kkkk');
    expect(JSON.stringify(line)).not.toContain('BEGIN');
  });

  it('takes its level from LOG_LEVEL', () => {
    process.env.LOG_LEVEL = 'warn';
    const out = sink();
    const log = createSimLogger({ json: true, destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
