// Outage errors are logged once per cause per interval, with the count of the ones left out.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, withLogContext } from '@/server/log';
import { causeOf, throttledErrorLog } from '@/server/throttled-log';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger({ json: true, destination }) };
}

describe('throttledErrorLog', () => {
  it('writes 1 line per cause per interval out of thousands of errors, then says how many it left out', () => {
    const { lines, logger } = capture();
    let t = 0;
    const onError = throttledErrorLog(logger, 'pg-boss error', 60_000, () => t);
    const refused = (port: number) => Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 5000; i++) {
      t = i * 10; // 50 s of errors every 10 ms
      onError(refused(54329 + (i % 3)));
      if (i % 2) onError(new Error('Connection terminated unexpectedly'));
    }
    expect(lines).toHaveLength(2);
    t = 61_000;
    onError(refused(54329));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ msg: 'pg-boss error', suppressed: 4999, err: { message: 'connect ECONNREFUSED 127.0.0.1:54329' } });
  });

  it('groups causes by code and message without numbers', () => {
    expect(causeOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(
      causeOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2'), { code: 'ECONNREFUSED' })),
    );
    expect(causeOf(new Error('a'))).not.toBe(causeOf(new TypeError('a')));
  });
});

describe('log context', () => {
  it('puts the request or job id on every line logged while it runs, nested contexts merged', async () => {
    const { lines, logger } = capture();
    logger.info('outside');
    await withLogContext({ requestId: 'r1' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      logger.child({ component: 'x' }).info('inside, after an await, from a child logger');
      withLogContext({ jobId: 'j1' }, () => logger.info('nested'));
    });
    expect(lines.map((l) => [l.msg, l.requestId, l.jobId])).toEqual([
      ['outside', undefined, undefined],
      ['inside, after an await, from a child logger', 'r1', undefined],
      ['nested', 'r1', 'j1'],
    ]);
  });
});
