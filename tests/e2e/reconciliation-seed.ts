// Seeds the e2e database with a reconciled day for the console walk (admin-reconciliation.spec.ts), through
// the reconciliation domain's own functions: two findings and the day's report. Run with tsx:
// `node --import tsx tests/e2e/reconciliation-seed.ts <date>`, DATABASE_URL set.
import { createDb } from '@/db/client';
import { reconciliationDays } from '@/db/schema';
import { recordFinding } from '@/server/reconciliation/discrepancies';
import { computeReport } from '@/server/reconciliation/report';

async function main() {
  const date = process.argv[2]!;
  const { db, sql } = createDb(process.env.DATABASE_URL!, { max: 1 });
  const tx = `E2E${date.replaceAll('-', '')}${Date.now()}`;
  await db.transaction(async (t) => {
    await recordFinding(t, {
      billDate: date,
      class: 'external_trade',
      subjectKey: `${tx}A`,
      state: 'open',
      outTradeNo: `EXT${tx}`,
      transactionId: `${tx}A`,
      ours: { found: false },
      bill: { totalFen: 1234, outTradeNo: `EXT${tx}` },
      proposedFix: 'ignore_external',
    });
    await recordFinding(t, {
      billDate: date,
      class: 'fee_mismatch',
      subjectKey: `${tx}B`,
      state: 'auto_resolved',
      outTradeNo: `SP${tx}`,
      transactionId: `${tx}B`,
      ours: { estimatedFeeFen: 6 },
      bill: { feeMilliFen: 9000 },
      proposedFix: 'adopt_billed_fee',
      resolution: { action: 'adopted_billed_fee', billedFeeFen: 9, estimatedFeeFen: 6 },
    });
  });
  const report = await computeReport(db, date, 6000);
  await db
    .insert(reconciliationDays)
    .values({ billDate: date, status: 'reconciled', matchedPercent: String(report.matchedPercent), report })
    .onConflictDoUpdate({ target: reconciliationDays.billDate, set: { report, status: 'reconciled' } });
  await sql.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
