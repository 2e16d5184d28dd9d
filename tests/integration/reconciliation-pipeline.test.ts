// The pipeline (issue 16 §1, §3): the 10:15 Asia/Shanghai cron as pg-boss stores it, retries while the bills
// are not in yet (the alert is the bill watchlist's), and a manual run over a range that reports its progress
// through the real worker.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alerts, reconciliationDays } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { addDays } from '@/server/reconciliation/days';
import { evaluateWatchlists, WATCHLISTS } from '@/server/monitoring/watchlists';
import { BillsNotInYet, getRun, runDaily, startRun } from '@/server/reconciliation/pipeline';
import { SimControl } from '@/simulator/testkit';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

const SHANGHAI = 8 * 3600_000;
let h: Harness;
let simToday: string;

beforeAll(async () => {
  h = await startHarness({ ownDatabase: true });
  simToday = new Date(Date.parse((await new SimControl(h.simUrl).clock()).now) + SHANGHAI).toISOString().slice(0, 10);
});
afterAll(async () => {
  await h?.close();
});

/** The app's clock at hh:mm Beijing of `date` (the simulator keeps its own clock). */
function appClockAt(date: string, hour: number, minute = 0) {
  const at = new Date(Date.parse(`${date}T00:00:00Z`) - SHANGHAI + hour * 3600_000 + minute * 60_000);
  h.deps.clock = { now: () => at };
}

it('schedules the daily job at 10:15 Asia/Shanghai', async () => {
  const rows = await h.db.execute<{ cron: string; timezone: string }>(sql`select cron, timezone from pgboss.schedule where name = 'reconciliation.daily'`);
  expect(rows[0]).toEqual({ cron: '15 10 * * *', timezone: 'Asia/Shanghai' });
});

it("retries while yesterday's bills are not in, until the retry hour; the bill watchlist alerts once from 11:00", async () => {
  // For the app it is the day after the simulator's today: WeChat still answers STATEMENT_CREATING for it.
  appClockAt(addDays(simToday, 1), 10, 15);
  await expect(runDaily(h.deps)).rejects.toBeInstanceOf(BillsNotInYet);
  const billAlerts = () =>
    h.db
      .select()
      .from(alerts)
      .where(eq(alerts.ruleKey, `bill_not_fetched:${simToday}`));
  const rules = WATCHLISTS.filter((r) => r.name === 'bill_not_fetched');
  await evaluateWatchlists(h.db, { now: h.deps.clock.now(), rules });
  expect(await billAlerts()).toHaveLength(0); // before the deadline hour: only a retry
  appClockAt(addDays(simToday, 1), 11, 5);
  await expect(runDaily(h.deps)).rejects.toBeInstanceOf(BillsNotInYet);
  await evaluateWatchlists(h.db, { now: h.deps.clock.now(), rules });
  appClockAt(addDays(simToday, 1), 12, 5);
  const runs = await runDaily(h.deps); // given up for today: no throw, no retry
  expect(runs.map((r) => r.date)).toEqual([addDays(simToday, -2), addDays(simToday, -1), simToday]);
  expect(runs.at(-1)?.status).toBe('pending');
  await evaluateWatchlists(h.db, { now: h.deps.clock.now(), rules });
  const raised = await billAlerts();
  expect(raised).toHaveLength(1);
  expect(raised[0]).toMatchObject({ kind: 'watch.bill_not_fetched', state: 'open' });
  expect(raised[0]?.data).toMatchObject({ billDate: simToday, files: { trade_ALL: 'not_ready' } });
});

it('a manual run over a range goes day by day with progress, through the worker', async () => {
  appClockAt(simToday, 11);
  await expect(startRun(h.deps, SYSTEM_ACTOR, { from: addDays(simToday, -100), to: addDays(simToday, -1) })).rejects.toThrow(/three months/);
  await expect(startRun(h.deps, SYSTEM_ACTOR, { from: simToday, to: simToday })).rejects.toThrow(/over/);
  const { id } = await startRun(h.deps, SYSTEM_ACTOR, { from: addDays(simToday, -6), to: addDays(simToday, -4) });
  const done = await eventually(async () => {
    const run = await getRun(h.db, id);
    return run?.status === 'done' ? run : null;
  }, 20_000);
  expect(done).toMatchObject({ daysDone: 3, daysTotal: 3 });
  const days = await h.db
    .select()
    .from(reconciliationDays)
    .where(eq(reconciliationDays.billDate, addDays(simToday, -5)));
  expect(days[0]?.status).toBe('reconciled'); // quiet days: NO_STATEMENT_EXIST on both sides of the window
});
