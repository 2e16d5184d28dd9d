// Refunds round trip, client ↔ simulator over HTTP (reference §7): create (idempotent by out_refund_no),
// PROCESSING → SUCCESS after the processing delay, ABNORMAL / CLOSED on demand, the business rules (order total,
// sum, 50 refunds, one year), trade_state REFUND, and REFUND.* notifications parsed by parseNotification.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayClient, type WechatPayClientOptions } from '../../server/wechatpay/client';
import { formatAuthorization, loadPrivateKey, randomNonce, requestMessage, signMessage, unixSeconds } from '../../server/wechatpay/crypto';
import { WechatPayApiError, WechatPayRequestError } from '../../server/wechatpay/errors';
import { parseNotification, parseRefundResource } from '../../server/wechatpay/notification';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { eventually, SimControl, simulatorVerifier, startNotifyReceiver, type NotifyReceiver, type ReceivedNotification } from '../../simulator/testkit';

let dir: string;
let creds: SimCredentials;
/** Refunds succeed 30 ms after creation here… */
let sim: RunningSimulator;
/** …and only after an hour here (same merchant, same database): for ABNORMAL / CLOSED and PROCESSING checks. */
let slowSim: RunningSimulator;
let control: SimControl;
let receiver: NotifyReceiver;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-refunds-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'credentials.json'));
  // Several refunds per order in quick succession: the 1-minute spacing rule is tested in simulator-refunds.test.ts.
  const common = { port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: 0.001, refundSpacingMs: 0, log: () => {} };
  sim = await startSimulator(common);
  slowSim = await startSimulator({ ...common, refundProcessingMs: 3_600_000 });
  control = new SimControl(sim.url);
  receiver = await startNotifyReceiver();
});

afterAll(async () => {
  await sim?.close();
  await slowSim?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function client(baseUrl = sim.url, options: Partial<WechatPayClientOptions> = {}): WechatPayClient {
  return new WechatPayClient({
    mchid: creds.mchid,
    appid: creds.appid,
    merchantSerial: creds.merchant.serial,
    merchantPrivateKey: loadPrivateKey(creds.merchant.privateKeyPem),
    verifier: simulatorVerifier(creds),
    baseUrl,
    retries: 0,
    ...options,
  });
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();

/** A paid order of `total` fen. */
async function paidOrder(total = 1000): Promise<{ no: string; transactionId: string }> {
  const no = unique('RF');
  const { code_url } = await client().nativePrepay({
    description: '退款测试',
    out_trade_no: no,
    notify_url: `${receiver.url}/pay/${no}`,
    amount: { total, currency: 'CNY' },
  });
  const paid = await control.pay({ code_url });
  return { no, transactionId: paid.transaction_id! };
}

function refundNotifications(outRefundNo: string): ReceivedNotification[] {
  return receiver.received.filter((r) => r.path === `/refund/${outRefundNo}`);
}

function parseReceived(n: ReceivedNotification) {
  const parsed = parseNotification({
    headers: new Headers(n.headers as Record<string, string>),
    body: n.body,
    verifier: simulatorVerifier(creds),
    apiv3Key: creds.apiv3Key,
  });
  if (!parsed.ok) throw new Error(`notification did not parse: ${parsed.reason}`);
  return parsed;
}

describe('refund round trip', () => {
  it('PROCESSING, then SUCCESS on its own; the order turns REFUND; REFUND.SUCCESS carries refund_status', async () => {
    const { no, transactionId } = await paidOrder(1000);
    const outRefundNo = unique('R');
    const refund = await client().createRefund({
      out_trade_no: no,
      out_refund_no: outRefundNo,
      reason: '商品已售完',
      notify_url: `${receiver.url}/refund/${outRefundNo}`,
      amount: { refund: 300, total: 1000, currency: 'CNY' },
    });
    expect(refund).toMatchObject({
      out_refund_no: outRefundNo,
      out_trade_no: no,
      transaction_id: transactionId,
      refund_id: expect.stringMatching(/^503\d{26}$/),
      status: 'PROCESSING',
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      funds_account: 'AVAILABLE',
      amount: { total: 1000, refund: 300, payer_total: 1000, payer_refund: 300, currency: 'CNY' },
    });
    expect(refund.success_time).toBeUndefined();
    expect(refund.create_time).toMatch(/\+08:00$/);
    expect((await client().queryByOutTradeNo(no)).trade_state).toBe('REFUND');

    const done = await eventually(async () => {
      const r = await client().queryRefund(outRefundNo);
      return r.status === 'SUCCESS' ? r : null;
    });
    expect(done.refund_id).toBe(refund.refund_id);
    expect(done.success_time).toMatch(/\+08:00$/);

    const [n] = await eventually(() => (refundNotifications(outRefundNo).length ? refundNotifications(outRefundNo) : null));
    const parsed = parseReceived(n!);
    expect(parsed.envelope).toMatchObject({
      event_type: 'REFUND.SUCCESS',
      summary: '退款成功',
      resource: { original_type: 'refund', associated_data: 'refund' },
    });
    const resource = parseRefundResource(parsed.resource);
    expect(resource.success).toBe(true);
    expect(resource.data).toMatchObject({
      out_refund_no: outRefundNo,
      refund_id: refund.refund_id,
      refund_status: 'SUCCESS',
      out_trade_no: no,
      transaction_id: transactionId,
      amount: { total: 1000, refund: 300, payer_total: 1000, payer_refund: 300 },
    });
    // The notification speaks refund_status, the API status (reference §14 #15).
    expect(parsed.resource).not.toHaveProperty('status');
    expect(done).not.toHaveProperty('refund_status');
  });

  it('is idempotent by out_refund_no: the same body returns the same refund, a different body is refused', async () => {
    const { no } = await paidOrder(500);
    const outRefundNo = unique('R');
    const body = { out_trade_no: no, out_refund_no: outRefundNo, amount: { refund: 100, total: 500, currency: 'CNY' as const } };
    const first = await client(slowSim.url).createRefund(body);
    const again = await client(slowSim.url).createRefund(body);
    expect(again.refund_id).toBe(first.refund_id);
    const changed = await client(slowSim.url)
      .createRefund({ ...body, amount: { ...body.amount, refund: 101 } })
      .catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(WechatPayApiError);
    expect(changed).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST', retryable: false });
    // Still one refund of 100: the order keeps 400 refundable.
    expect((await control.order(no)).refunds).toHaveLength(1);
  });

  it('a timed-out createRefund retried with the same out_refund_no never refunds twice', async () => {
    const { no } = await paidOrder(500);
    const outRefundNo = unique('R');
    await control.setFaults({ apiTimeoutRate: 1 });
    try {
      const body = { out_trade_no: no, out_refund_no: outRefundNo, amount: { refund: 500, total: 500, currency: 'CNY' as const } };
      for (let i = 0; i < 4; i++)
        await client(sim.url, { timeoutMs: 200 })
          .createRefund(body)
          .catch(() => {});
      await control.setFaults({ apiErrorRate: 0.5 });
      const refund = await client(sim.url, { retries: 12, retryBaseDelayMs: 5 }).createRefund(body);
      expect(refund.amount.refund).toBe(500);
    } finally {
      // The other simulator process shares the fault set; wait until its cache has seen the change too.
      await control.setFaults({}, { everywhere: true });
    }
    expect((await control.order(no)).refunds).toHaveLength(1);
  });

  it('refunds by transaction_id too', async () => {
    const { no, transactionId } = await paidOrder(200);
    const refund = await client().createRefund({
      transaction_id: transactionId,
      out_refund_no: unique('R'),
      amount: { refund: 200, total: 200, currency: 'CNY' },
    });
    expect(refund).toMatchObject({ out_trade_no: no, transaction_id: transactionId });
  });

  it('ABNORMAL and CLOSED on demand, each with its notification; a CLOSED refund frees its amount', async () => {
    const { no } = await paidOrder(1000);
    const slow = client(slowSim.url);
    const abnormalNo = unique('R');
    const closedNo = unique('R');
    await slow.createRefund({
      out_trade_no: no,
      out_refund_no: abnormalNo,
      notify_url: `${receiver.url}/refund/${abnormalNo}`,
      amount: { refund: 400, total: 1000, currency: 'CNY' },
    });
    await slow.createRefund({
      out_trade_no: no,
      out_refund_no: closedNo,
      notify_url: `${receiver.url}/refund/${closedNo}`,
      amount: { refund: 600, total: 1000, currency: 'CNY' },
    });
    expect((await slow.queryRefund(abnormalNo)).status).toBe('PROCESSING');
    // Nothing left to refund while both are pending.
    const over = await slow
      .createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 1000, currency: 'CNY' } })
      .catch((e: unknown) => e);
    expect(over).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });

    await control.refundOutcome(abnormalNo, 'ABNORMAL');
    await control.refundOutcome(closedNo, 'CLOSED');
    expect((await slow.queryRefund(abnormalNo)).status).toBe('ABNORMAL');
    expect((await slow.queryRefund(closedNo)).status).toBe('CLOSED');
    await expect(control.refundOutcome(closedNo, 'SUCCESS')).rejects.toMatchObject({ status: 409 });

    for (const [refundNo, event] of [
      [abnormalNo, 'REFUND.ABNORMAL'],
      [closedNo, 'REFUND.CLOSED'],
    ] as const) {
      const [n] = await eventually(() => (refundNotifications(refundNo).length ? refundNotifications(refundNo) : null));
      const parsed = parseReceived(n!);
      expect(parsed.envelope.event_type).toBe(event);
      expect(parseRefundResource(parsed.resource).data).toMatchObject({ refund_status: event.slice(7), out_refund_no: refundNo });
      expect(parsed.resource).not.toHaveProperty('success_time');
    }
    // The 600 of the CLOSED refund are refundable again.
    const again = await slow.createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 600, total: 1000, currency: 'CNY' } });
    expect(again.status).toBe('PROCESSING');
  });
});

describe('refund rules', () => {
  it('amount.total must be the order total', async () => {
    const { no } = await paidOrder(1000);
    const err = await client()
      .createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 100, total: 900, currency: 'CNY' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 400, code: 'PARAM_ERROR', detail: { field: '/amount/total' } });
  });

  it('partial refunds may add up to the total, not beyond', async () => {
    const { no } = await paidOrder(100);
    for (const part of [30, 30, 40]) {
      await client().createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: part, total: 100, currency: 'CNY' } });
    }
    const err = await client()
      .createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST', wechatMessage: '申请退款金额超过订单可退金额' });
  });

  it('at most 50 refunds per order', async () => {
    const { no } = await paidOrder(100);
    const c = client();
    for (let i = 0; i < 50; i++) await c.createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' } });
    const err = await c
      .createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
    expect((err as WechatPayApiError).wechatMessage).toContain('50');
  });

  it('only within a year of payment', async () => {
    const { no } = await paidOrder(100);
    await control.backdate(no, 366);
    const err = await client()
      .createRefund({ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
  });

  it('unpaid or unknown orders and unknown refunds are RESOURCE_NOT_EXISTS', async () => {
    const no = unique('RF');
    await client().nativePrepay({ description: '未支付', out_trade_no: no, notify_url: `${receiver.url}/pay/${no}`, amount: { total: 100, currency: 'CNY' } });
    for (const outTradeNo of [no, 'NO_SUCH_ORDER']) {
      const err = await client()
        .createRefund({ out_trade_no: outTradeNo, out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' } })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ httpStatus: 404, code: 'RESOURCE_NOT_EXISTS' });
    }
    expect(
      await client()
        .queryRefund('NO_SUCH_REFUND')
        .catch((e: unknown) => e),
    ).toMatchObject({ httpStatus: 404, code: 'RESOURCE_NOT_EXISTS' });
  });

  it('the client validates before sending: one order identifier, refund ≤ total, integer fen, CNY', async () => {
    const bad = [
      { out_trade_no: 'ORDER123', transaction_id: '4200000000', out_refund_no: 'R1', amount: { refund: 1, total: 1, currency: 'CNY' } },
      { out_refund_no: 'R1', amount: { refund: 1, total: 1, currency: 'CNY' } },
      { out_trade_no: 'ORDER123', out_refund_no: 'R1', amount: { refund: 2, total: 1, currency: 'CNY' } },
      { out_trade_no: 'ORDER123', out_refund_no: 'R1', amount: { refund: 1.5, total: 2, currency: 'CNY' } },
      { out_trade_no: 'ORDER123', out_refund_no: 'R#1', amount: { refund: 1, total: 1, currency: 'CNY' } },
      { out_trade_no: 'ORDER123', out_refund_no: 'R1', amount: { refund: 1, total: 1, currency: 'USD' } },
      { out_trade_no: 'ORDER123', out_refund_no: 'R1', reason: '退款🙂', amount: { refund: 1, total: 1, currency: 'CNY' } },
    ];
    for (const params of bad) {
      expect(
        await client()
          .createRefund(params as never)
          .catch((e: unknown) => e),
      ).toBeInstanceOf(WechatPayRequestError);
    }
  });

  it('the simulator refuses what the client would not send: unknown fields, a missing currency, no order identifier', async () => {
    const { no } = await paidOrder(100);
    const cases: [Record<string, unknown>, string][] = [
      [{ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' }, mchid: creds.mchid }, '/mchid'],
      [{ out_trade_no: no, out_refund_no: unique('R'), amount: { refund: 1, total: 100 } }, '/amount/currency'],
      [{ out_refund_no: unique('R'), amount: { refund: 1, total: 100, currency: 'CNY' } }, '/out_trade_no'],
    ];
    for (const [body, field] of cases) {
      const raw = JSON.stringify(body);
      const target = '/v3/refund/domestic/refunds';
      const timestamp = unixSeconds();
      const nonce = randomNonce();
      const signature = signMessage(loadPrivateKey(creds.merchant.privateKeyPem), requestMessage('POST', target, timestamp, nonce, raw));
      const res = await fetch(`${sim.url}${target}`, {
        method: 'POST',
        headers: {
          Authorization: formatAuthorization({ mchid: creds.mchid, nonce_str: nonce, timestamp, serial_no: creds.merchant.serial, signature }),
          Accept: 'application/json',
          'User-Agent': 'conformance/1.0',
          'Content-Type': 'application/json',
        },
        body: raw,
      });
      expect(res.status).toBe(400);
      const json = await res.json();
      expect(json.code).toBe('PARAM_ERROR');
      expect(json.detail.field).toBe(field);
    }
  });
});
