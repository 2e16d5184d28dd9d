// Every operation of the client against the simulator over HTTP, in each key mode (certificate, public-key,
// migrating), with signature probes, API errors, latency, hangs and every notification fault switched on.
// The merchant side is set up the way a real merchant in that mode would be: in certificate mode it starts
// with no WeChat key at all and bootstraps from /v3/certificates through the CertificateManager.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFundFlowBill, parseTradeBill } from '../../server/wechatpay/bill';
import { CertificateManager } from '../../server/wechatpay/certificates';
import { WechatPayClient } from '../../server/wechatpay/client';
import { loadPrivateKey, loadPublicKey } from '../../server/wechatpay/crypto';
import { parseNotification, parseRefundResource, parseTransactionResource } from '../../server/wechatpay/notification';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import type { KeyMode } from '../../simulator/faults';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { eventually, SimControl, startNotifyReceiver, type NotifyReceiver, type ReceivedNotification } from '../../simulator/testkit';

let dir: string;
let creds: SimCredentials;
let sim: RunningSimulator;
let control: SimControl;
let receiver: NotifyReceiver;
/** The merchant verifier of the mode under test; the receiver answers 401 to whatever it refuses. */
let merchantVerifier = new WechatPayVerifier();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-roundtrip-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'credentials.json'));
  sim = await startSimulator({ port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: 0.001, log: () => {} });
  control = new SimControl(sim.url);
  receiver = await startNotifyReceiver((n) => (verdict(n).ok ? 204 : 401));
});

afterAll(async () => {
  await control?.setFaults({});
  await sim?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function headersOf(n: Pick<ReceivedNotification, 'headers'>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(n.headers)) if (typeof v === 'string') h.set(k, v);
  return h;
}

function verdict(n: Pick<ReceivedNotification, 'headers' | 'body'>) {
  return parseNotification({ headers: headersOf(n), body: n.body, verifier: merchantVerifier, apiv3Key: creds.apiv3Key });
}

/** The first delivery on `path` that the merchant accepted, parsed. */
async function accepted(pathname: string) {
  const n = await eventually(() => receiver.received.find((r) => r.path === pathname && r.status === 204), 10_000, `notification on ${pathname}`);
  const parsed = verdict(n);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed;
}

/** A merchant set up for `mode`, as in production. */
async function merchant(mode: KeyMode): Promise<{ client: WechatPayClient; manager: CertificateManager }> {
  const publicKey: [string, ReturnType<typeof loadPublicKey>] = [creds.wechatpayPublicKey.id, loadPublicKey(creds.wechatpayPublicKey.publicKeyPem)];
  // Certificate mode starts empty: the certificate comes from /v3/certificates, trusted through the APIv3 key.
  const verifier = new WechatPayVerifier(mode === 'certificate' ? [] : [publicKey]);
  let manager: CertificateManager | undefined;
  const client = new WechatPayClient({
    mchid: creds.mchid,
    appid: creds.appid,
    merchantSerial: creds.merchant.serial,
    merchantPrivateKey: loadPrivateKey(creds.merchant.privateKeyPem),
    verifier,
    baseUrl: sim.url,
    timeoutMs: 600,
    retries: 10,
    retryBaseDelayMs: 2,
    acceptSerial: () => (mode === 'certificate' ? manager?.newestSerial() : creds.wechatpayPublicKey.id),
    onUnknownSerial: (serial) => manager!.refreshForSerial(serial),
  });
  manager = new CertificateManager({ client, verifier, apiv3Key: creds.apiv3Key });
  manager.attach();
  await manager.refresh();
  merchantVerifier = verifier;
  return { client, manager };
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();

describe.each(['certificate', 'public-key', 'migrating'] as const)('round trip in %s mode, probes and faults on', (mode) => {
  it('certificates, prepay, query, pay + notification, refund + notification, close, bills', async () => {
    await control.setFaults({
      keyMode: mode,
      probeSignatureRate: 0.2,
      apiErrorRate: 0.1,
      apiLatencyMs: [0, 5],
      apiTimeoutRate: 0.03,
      notifyDropRate: 0.2,
      notifyDuplicateRate: 0.2,
      notifyDelayMs: [0, 20],
      notifyReorder: true,
    });
    try {
      const { client, manager } = await merchant(mode);

      // Certificates: downloaded and trusted in certificate and migrating modes, none on the public key.
      if (mode === 'public-key') {
        expect(manager.certificates()).toEqual([]);
      } else {
        expect(manager.certificates().map((c) => c.serialNo)).toEqual([creds.platformCertificate.serial]);
        expect(manager.newestSerial()).toBe(creds.platformCertificate.serial);
      }

      // Prepay (retried through errors, probes and hangs with the same out_trade_no) and query.
      const no = unique(`RT${mode[0]!.toUpperCase()}`);
      const notifyUrl = `${receiver.url}/pay/${no}`;
      const { code_url } = await client.nativePrepay({
        description: `往返 ${mode}`,
        out_trade_no: no,
        notify_url: notifyUrl,
        attach: mode,
        amount: { total: 2345, currency: 'CNY' },
      });
      expect(code_url).toMatch(/^weixin:\/\//);
      expect((await client.queryByOutTradeNo(no)).trade_state).toBe('NOTPAY');

      // Payment: the notification arrives (through drops, probes, duplicates) and verifies with this mode's keys.
      await control.pay({ out_trade_no: no });
      const paid = await accepted(`/pay/${no}`);
      expect(paid.envelope.event_type).toBe('TRANSACTION.SUCCESS');
      const transaction = parseTransactionResource(paid.resource);
      expect(transaction.data).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS', attach: mode, amount: { total: 2345 } });
      const byNo = await client.queryByOutTradeNo(no);
      expect(byNo.trade_state).toBe('SUCCESS');
      expect(await client.queryByTransactionId(byNo.transaction_id!)).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS' });

      // Refund: idempotent create, SUCCESS on its own, REFUND.SUCCESS with refund_status.
      const outRefundNo = unique('RTR');
      const refund = await client.createRefund({
        out_trade_no: no,
        out_refund_no: outRefundNo,
        notify_url: `${receiver.url}/refund/${outRefundNo}`,
        amount: { refund: 345, total: 2345, currency: 'CNY' },
      });
      expect(refund.amount).toMatchObject({ refund: 345, total: 2345 });
      const refunded = await eventually(async () => {
        const r = await client.queryRefund(outRefundNo);
        return r.status === 'SUCCESS' ? r : null;
      });
      expect(refunded.refund_id).toBe(refund.refund_id);
      const refundNote = await accepted(`/refund/${outRefundNo}`);
      expect(refundNote.envelope.event_type).toBe('REFUND.SUCCESS');
      expect(parseRefundResource(refundNote.resource).data).toMatchObject({ refund_status: 'SUCCESS', out_refund_no: outRefundNo });
      expect((await client.queryByOutTradeNo(no)).trade_state).toBe('REFUND');

      // Close another order.
      const other = unique('RTC');
      await client.nativePrepay({ description: '关单', out_trade_no: other, notify_url: notifyUrl, amount: { total: 1, currency: 'CNY' } });
      await client.closeOrder(other);
      await client.closeOrder(other); // re-entrant, and safe to retry
      expect((await client.queryByOutTradeNo(other)).trade_state).toBe('CLOSED');

      // Bills: move this order's history two days back, then reconcile that day to the fen.
      await control.backdate(no, 2);
      const payDay = (await client.queryByOutTradeNo(no)).success_time!.slice(0, 10);
      const refundDay = (await client.queryRefund(outRefundNo)).create_time!.slice(0, 10);
      for (const tar of [undefined, 'GZIP'] as const) {
        const applied = await client.applyTradeBill({ bill_date: payDay, tar_type: tar });
        const bill = parseTradeBill(await client.downloadBill(applied));
        expect(bill.kind).toBe('ALL');
        expect(bill.rows.find((r) => r.outTradeNo === no && r.tradeState === 'SUCCESS')).toMatchObject({
          totalFen: 2345,
          settlementTotalFen: 2345,
          attach: mode,
        });
      }
      const refundBill = parseTradeBill(await client.downloadBill(await client.applyTradeBill({ bill_date: refundDay, bill_type: 'REFUND' })));
      expect(refundBill.rows.find((r) => r.outRefundNo === outRefundNo)).toMatchObject({ refundFen: 345, refundStatus: 'SUCCESS', outTradeNo: no });
      const flow = parseFundFlowBill(await client.downloadBill(await client.applyFundFlowBill({ bill_date: payDay })));
      expect(flow.rows.some((r) => r.voucher === no && r.direction === 'income' && r.amountFen === 2345)).toBe(true);
    } finally {
      await control.setFaults({});
    }
  });
});
