// The simulator's refund side (issue 14 item 4), over HTTP with the real client and real Postgres: scripted
// outcomes (per out_refund_no and a default), WeChat's rules with WeChat's error codes — the 1-minute spacing
// and the 1-year window made fast by the simulated clock, 50 refunds, the paid sum, reason length, idempotency —
// apply-abnormal-refund with RSA-OAEP-encrypted bank fields, REFUND.* notifications under the notification
// faults, the refund fault rates and the refunds list a chaos test asserts on.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WechatPayClient, type WechatPayClientOptions } from '../../server/wechatpay/client';
import { decryptSensitive, encryptSensitive, loadPrivateKey, loadPublicKey } from '../../server/wechatpay/crypto';
import { WechatPayApiError, WechatPayNetworkError, WechatPayRequestError } from '../../server/wechatpay/errors';
import { parseNotification, parseRefundResource } from '../../server/wechatpay/notification';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { eventually, SimControl, simulatorVerifier, startNotifyReceiver, type NotifyReceiver, type ReceivedNotification } from '../../simulator/testkit';

const MINUTE = 60_000;
let dir: string;
let creds: SimCredentials;
let sim: RunningSimulator;
let control: SimControl;
let receiver: NotifyReceiver;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-sim-refunds-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'credentials.json'));
  // Notification retries scaled down; refunds stay PROCESSING for a simulated hour unless a plan says otherwise;
  // the spacing rule at WeChat's real minute of simulated time (the clock is advanced instead of waiting).
  sim = await startSimulator({
    port: 0,
    databaseUrl: process.env.DATABASE_URL!,
    credentials: creds,
    timeScale: 0.001,
    refundProcessingMs: 3_600_000,
    refundSpacingMs: MINUTE,
    log: () => {},
  });
  control = new SimControl(sim.url);
  receiver = await startNotifyReceiver();
});

afterAll(async () => {
  await control?.setFaults({}).catch(() => {});
  await control?.resetClock().catch(() => {});
  await sim?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await control.setFaults({});
  await control.clearRefundPlans();
});

function client(options: Partial<WechatPayClientOptions> = {}): WechatPayClient {
  return new WechatPayClient({
    mchid: creds.mchid,
    appid: creds.appid,
    merchantSerial: creds.merchant.serial,
    merchantPrivateKey: loadPrivateKey(creds.merchant.privateKeyPem),
    verifier: simulatorVerifier(creds),
    baseUrl: sim.url,
    retries: 0,
    ...options,
  });
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();

async function paidOrder(total = 1000): Promise<string> {
  const no = unique('SR');
  const { code_url } = await client().nativePrepay({
    description: '退款规则',
    out_trade_no: no,
    notify_url: `${receiver.url}/pay/${no}`,
    amount: { total, currency: 'CNY' },
  });
  await control.pay({ code_url });
  return no;
}

function refund(no: string, outRefundNo: string, amount: number, total = 1000, reason?: string) {
  return client().createRefund({
    out_trade_no: no,
    out_refund_no: outRefundNo,
    reason,
    notify_url: `${receiver.url}/refund/${outRefundNo}`,
    amount: { refund: amount, total, currency: 'CNY' },
  });
}

async function apiError(p: Promise<unknown>): Promise<WechatPayApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WechatPayApiError);
  return err as WechatPayApiError;
}

function received(outRefundNo: string): ReceivedNotification[] {
  return receiver.received.filter((r) => r.path === `/refund/${outRefundNo}`);
}

function decoded(n: ReceivedNotification) {
  const parsed = parseNotification({
    headers: new Headers(n.headers as Record<string, string>),
    body: n.body,
    verifier: simulatorVerifier(creds),
    apiv3Key: creds.apiv3Key,
  });
  if (!parsed.ok) throw new Error(`notification did not parse: ${parsed.reason}`);
  const resource = parseRefundResource(parsed.resource);
  if (!resource.success) throw new Error('refund resource did not parse');
  return { id: parsed.envelope.id, event: parsed.envelope.event_type, resource: resource.data };
}

describe('scripted refund outcomes', () => {
  it('per out_refund_no: SUCCESS after a delay, CLOSED, ABNORMAL, PROCESSING for long — each with its notification', async () => {
    const no = await paidOrder(1000);
    const [ok, closed, abnormal, stuck] = ['S', 'C', 'A', 'P'].map((k) => unique(`R${k}`)) as [string, string, string, string];
    await control.setRefundPlan(ok, { status: 'SUCCESS', afterMs: 5 * MINUTE });
    await control.setRefundPlan(closed, { status: 'CLOSED', afterMs: 7 * 24 * 60 * MINUTE });
    await control.setRefundPlan(abnormal, { status: 'ABNORMAL', afterMs: 2 * MINUTE });
    await control.setRefundPlan(stuck, { status: 'PROCESSING' });
    for (const [i, outRefundNo] of [ok, closed, abnormal, stuck].entries()) {
      if (i > 0) await control.advanceClock(MINUTE);
      expect((await refund(no, outRefundNo, 100)).status).toBe('PROCESSING');
    }
    await control.advanceClock(5 * MINUTE);
    await eventually(() => received(ok).length > 0 && received(abnormal).length > 0, 10_000, 'SUCCESS and ABNORMAL notifications');
    expect((await client().queryRefund(ok)).status).toBe('SUCCESS');
    expect((await client().queryRefund(abnormal)).status).toBe('ABNORMAL');
    expect((await client().queryRefund(closed)).status).toBe('PROCESSING');

    // Seven simulated days later the CLOSED one closes; the PROCESSING one never moves on its own.
    await control.advanceClock(7 * 24 * 60 * MINUTE);
    await eventually(() => received(closed).length > 0, 10_000, 'CLOSED notification');
    expect((await client().queryRefund(closed)).status).toBe('CLOSED');
    expect((await client().queryRefund(stuck)).status).toBe('PROCESSING');
    expect(received(stuck)).toHaveLength(0);

    const events = Object.fromEntries([ok, closed, abnormal].map((n) => [n, decoded(received(n)[0]!)]));
    expect(events[ok]).toMatchObject({ event: 'REFUND.SUCCESS', resource: { refund_status: 'SUCCESS', out_refund_no: ok } });
    expect(events[closed]).toMatchObject({ event: 'REFUND.CLOSED', resource: { refund_status: 'CLOSED' } });
    expect(events[abnormal]).toMatchObject({ event: 'REFUND.ABNORMAL', resource: { refund_status: 'ABNORMAL' } });
    // The control API still forces the stuck one.
    await control.refundOutcome(stuck, 'SUCCESS');
    expect((await client().queryRefund(stuck)).status).toBe('SUCCESS');
  });

  it('a default plan applies to every next refund without a plan of its own, until cleared', async () => {
    await control.setRefundPlan('default', { status: 'ABNORMAL', afterMs: 0 });
    const own = unique('RO');
    await control.setRefundPlan(own, { status: 'SUCCESS', afterMs: 0 });
    const a = await paidOrder(300);
    const b = await paidOrder(300);
    const byDefault = unique('RD');
    await refund(a, byDefault, 300, 300);
    await refund(b, own, 300, 300);
    expect((await client().queryRefund(byDefault)).status).toBe('ABNORMAL');
    expect((await client().queryRefund(own)).status).toBe('SUCCESS');
    const plans = await control.refundPlans();
    expect(plans.plans.map((p) => p.target).sort()).toEqual(['default', own].sort());
    await control.clearRefundPlans('default');
    const c = await paidOrder(300);
    const after = unique('RN');
    await refund(c, after, 300, 300);
    expect((await client().queryRefund(after)).status).toBe('PROCESSING');
  });

  it('refuses unknown plan statuses and fields', async () => {
    for (const body of [{ status: 'DONE' }, { status: 'SUCCESS', afterMs: -1 }, { status: 'SUCCESS', extra: 1 }]) {
      const res = await fetch(`${sim.url}/_sim/refund-plans/default`, { method: 'PUT', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
    }
  });
});

describe("WeChat's refund rules", () => {
  it('refunds of one order at least a minute apart: 429 FREQUENCY_LIMITED, fine a simulated minute later', async () => {
    const no = await paidOrder(1000);
    await refund(no, unique('R'), 100);
    const err = await apiError(refund(no, unique('R'), 100));
    expect(err).toMatchObject({ httpStatus: 429, code: 'FREQUENCY_LIMITED', retryable: true });
    // Another order is not held up, and a repeat of the accepted refund is not a new refund.
    const other = await paidOrder(1000);
    await refund(other, unique('R'), 100);
    await control.advanceClock(59_000);
    expect((await apiError(refund(no, unique('R'), 100))).code).toBe('FREQUENCY_LIMITED');
    await control.advanceClock(1_000);
    expect((await refund(no, unique('R'), 100)).status).toBe('PROCESSING');
  });

  it('same out_refund_no with the same parameters is the same refund; changed parameters are refused', async () => {
    const no = await paidOrder(1000);
    const outRefundNo = unique('R');
    const first = await refund(no, outRefundNo, 250);
    // The repeat comes within the minute: it is not a second refund, so the spacing rule does not apply.
    const again = await refund(no, outRefundNo, 250);
    expect(again.refund_id).toBe(first.refund_id);
    const changed = await apiError(refund(no, outRefundNo, 251));
    expect(changed).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
    const listed = await control.refunds(no);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ out_refund_no: outRefundNo, create_requests: 2, amount: { refund: 250 } });
  });

  it('the sum of refunds never above the paid amount; a CLOSED refund frees its amount', async () => {
    const no = await paidOrder(500);
    const closedNo = unique('RC');
    await control.setRefundPlan(closedNo, { status: 'CLOSED', afterMs: 0 });
    await refund(no, closedNo, 400, 500);
    expect((await client().queryRefund(closedNo)).status).toBe('CLOSED');
    await control.advanceClock(MINUTE);
    await refund(no, unique('R'), 300, 500);
    await control.advanceClock(MINUTE);
    const over = await apiError(refund(no, unique('R'), 201, 500));
    expect(over).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
    expect(over.wechatMessage).toContain('超过');
    expect((await refund(no, unique('R'), 200, 500)).status).toBe('PROCESSING');
  });

  it('at most 50 refunds per order', async () => {
    const no = await paidOrder(100);
    for (let i = 0; i < 50; i++) {
      if (i > 0) await control.advanceClock(MINUTE);
      await refund(no, unique('R'), 1, 100);
    }
    await control.advanceClock(MINUTE);
    const err = await apiError(refund(no, unique('R'), 1, 100));
    expect(err).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
    expect(err.wechatMessage).toContain('50');
    expect(await control.refunds(no)).toHaveLength(50);
  });

  it('reason at most 80 characters (the client checks, and so does the simulator)', async () => {
    const no = await paidOrder(1000);
    expect((await refund(no, unique('R'), 1, 1000, '退'.repeat(80))).status).toBe('PROCESSING');
    await control.advanceClock(MINUTE);
    // The client's own schema refuses first…
    const local = await refund(no, unique('R'), 1, 1000, '退'.repeat(81)).catch((e: unknown) => e);
    expect(local).toBeInstanceOf(WechatPayRequestError);
    // …and a raw request that gets through is a PARAM_ERROR.
    const raw = await rawRefund({ out_trade_no: no, out_refund_no: unique('R'), reason: 'x'.repeat(81), amount: { refund: 1, total: 1000, currency: 'CNY' } });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { code: string }).code).toBe('PARAM_ERROR');
  });
});

/** A correctly signed refund request with any body (to reach the simulator's own validation). */
async function rawRefund(body: unknown): Promise<Response> {
  const { formatAuthorization, randomNonce, requestMessage, signMessage, unixSeconds } = await import('../../server/wechatpay/crypto');
  const text = JSON.stringify(body);
  const target = '/v3/refund/domestic/refunds';
  const timestamp = unixSeconds();
  const nonce = randomNonce(32);
  const signature = signMessage(loadPrivateKey(creds.merchant.privateKeyPem), requestMessage('POST', target, timestamp, nonce, text));
  return fetch(`${sim.url}${target}`, {
    method: 'POST',
    headers: {
      Authorization: formatAuthorization({ mchid: creds.mchid, nonce_str: nonce, timestamp, serial_no: creds.merchant.serial, signature }),
      Accept: 'application/json',
      'User-Agent': 'test',
      'Content-Type': 'application/json',
    },
    body: text,
  });
}

describe('apply-abnormal-refund', () => {
  const publicKey = () => ({ encryptionKey: loadPublicKey(creds.wechatpayPublicKey.publicKeyPem), encryptionSerial: creds.wechatpayPublicKey.id });

  async function abnormalRefund(amount = 600): Promise<{ no: string; outRefundNo: string; refundId: string }> {
    const no = await paidOrder(amount);
    const outRefundNo = unique('RA');
    await control.setRefundPlan(outRefundNo, { status: 'ABNORMAL', afterMs: 0 });
    const created = await refund(no, outRefundNo, amount, amount);
    expect((await client().queryRefund(outRefundNo)).status).toBe('ABNORMAL');
    return { no, outRefundNo, refundId: created.refund_id };
  }

  it("USER_BANK_CARD: bank fields encrypted for WeChat's public key; the refund goes PROCESSING, then SUCCESS", async () => {
    const { outRefundNo, refundId } = await abnormalRefund();
    const answer = await client().applyAbnormalRefund(
      { refund_id: refundId, out_refund_no: outRefundNo, type: 'USER_BANK_CARD', bank_type: 'CMB_DEBIT', bank_account: '6214830012345678', real_name: '张三' },
      publicKey(),
    );
    expect(answer).toMatchObject({ status: 'PROCESSING', channel: 'OTHER_BANKCARD', user_received_account: '招商银行借记卡5678' });
    const listed = (await control.refunds()).find((r) => r.out_refund_no === outRefundNo)!;
    expect(listed.abnormal_apply).toMatchObject({ type: 'USER_BANK_CARD', bank_type: 'CMB_DEBIT', account_last4: '5678', real_name_masked: '张*' });
    // The same request again is answered with the refund as it is now (the ciphertexts differ: OAEP is randomised).
    const repeat = await client().applyAbnormalRefund(
      { refund_id: refundId, out_refund_no: outRefundNo, type: 'USER_BANK_CARD', bank_type: 'CMB_DEBIT', bank_account: '6214830012345678', real_name: '张三' },
      publicKey(),
    );
    expect(repeat.status).toBe('PROCESSING');
    await control.advanceClock(3_600_000);
    await eventually(() => received(outRefundNo).some((n) => decoded(n).event === 'REFUND.SUCCESS'), 10_000, 'REFUND.SUCCESS after the abnormal refund');
    const done = await client().queryRefund(outRefundNo);
    expect(done).toMatchObject({ status: 'SUCCESS', user_received_account: '招商银行借记卡5678' });
    expect(received(outRefundNo).map((n) => decoded(n).event)).toEqual(['REFUND.ABNORMAL', 'REFUND.SUCCESS']);
  });

  it('MERCHANT_BANK_CARD needs no bank fields; the platform certificate key works for encryption too', async () => {
    const first = await abnormalRefund(200);
    const merchant = await client().applyAbnormalRefund(
      { refund_id: first.refundId, out_refund_no: first.outRefundNo, type: 'MERCHANT_BANK_CARD' },
      publicKey(),
    );
    expect(merchant).toMatchObject({ status: 'PROCESSING', user_received_account: '商户结算银行账户' });

    const second = await abnormalRefund(200);
    const byCertificate = await client().applyAbnormalRefund(
      {
        refund_id: second.refundId,
        out_refund_no: second.outRefundNo,
        type: 'USER_BANK_CARD',
        bank_type: 'ICBC_DEBIT',
        bank_account: '622202123456789012',
        real_name: '李四',
      },
      { encryptionKey: loadPublicKey(creds.platformCertificate.certificatePem), encryptionSerial: creds.platformCertificate.serial },
    );
    expect(byCertificate.user_received_account).toBe('工商银行借记卡9012');
  });

  it("refuses what WeChat refuses: not ABNORMAL, another refund's number, unknown serial, wrong key, bad plaintext", async () => {
    const { no, outRefundNo, refundId } = await abnormalRefund(300);
    const params = {
      refund_id: refundId,
      out_refund_no: outRefundNo,
      type: 'USER_BANK_CARD' as const,
      bank_type: 'CMB_DEBIT' as const,
      bank_account: '6214830012345678',
      real_name: '张三',
    };

    const mismatch = await apiError(client().applyAbnormalRefund({ ...params, out_refund_no: 'SOMEONE-ELSE' }, publicKey()));
    expect(mismatch).toMatchObject({ httpStatus: 400, code: 'PARAM_ERROR' });
    const unknownRefund = await apiError(client().applyAbnormalRefund({ ...params, refund_id: '50300000000000000000000000001' }, publicKey()));
    expect(unknownRefund).toMatchObject({ httpStatus: 404, code: 'RESOURCE_NOT_EXISTS' });
    const serial = await apiError(client().applyAbnormalRefund(params, { ...publicKey(), encryptionSerial: 'PUB_KEY_ID_0000' }));
    expect(serial).toMatchObject({ httpStatus: 400, code: 'PARAM_ERROR' });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const wrongKey = await apiError(client().applyAbnormalRefund(params, { encryptionKey: stranger, encryptionSerial: creds.wechatpayPublicKey.id }));
    expect(wrongKey).toMatchObject({ httpStatus: 400, code: 'PARAM_ERROR' });
    expect(wrongKey.wechatMessage).toContain('解密');
    // The client refuses a malformed account number before anything is sent.
    expect(
      await client()
        .applyAbnormalRefund({ ...params, bank_account: '12ab' }, publicKey())
        .catch((e: unknown) => e),
    ).toBeInstanceOf(WechatPayRequestError);
    // A refund that is not ABNORMAL cannot be redirected.
    await control.advanceClock(MINUTE);
    const fineNo = unique('RF');
    const order = await paidOrder(100);
    const fine = await refund(order, fineNo, 100, 100);
    const notAbnormal = await apiError(client().applyAbnormalRefund({ ...params, refund_id: fine.refund_id, out_refund_no: fineNo }, publicKey()));
    expect(notAbnormal).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
    // Still ABNORMAL after all the refusals.
    expect((await client().queryRefund(outRefundNo)).status).toBe('ABNORMAL');
    expect(no).toBeTruthy();
  });

  it('encryptSensitive / decryptSensitive round-trip with RSA-OAEP (SHA-1) and refuse a wrong key', () => {
    const { publicKey: pub, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const a = encryptSensitive(pub, '张三');
    expect(a).not.toBe(encryptSensitive(pub, '张三'));
    expect(decryptSensitive(privateKey, a)).toBe('张三');
    expect(() => decryptSensitive(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, a)).toThrow();
    expect(() => decryptSensitive(privateKey, 'not base64!')).toThrow();
  });
});

describe('refund faults and notifications', () => {
  it('refundErrorRate fails refund calls with a signed 500 and does nothing; other calls are untouched', async () => {
    const no = await paidOrder(100);
    await control.setFaults({ refundErrorRate: 1 });
    const outRefundNo = unique('R');
    const err = await apiError(refund(no, outRefundNo, 100, 100));
    expect(err).toMatchObject({ httpStatus: 500, code: 'SYSTEM_ERROR', retryable: true });
    expect(await control.refunds(no)).toHaveLength(0);
    // Payments still work.
    expect(await paidOrder(100)).toBeTruthy();
    await control.setFaults({});
    expect((await refund(no, outRefundNo, 100, 100)).status).toBe('PROCESSING');
  });

  it('refundTimeoutRate hangs refund calls; retried with the same out_refund_no there is exactly one refund', async () => {
    const no = await paidOrder(100);
    await control.setFaults({ refundTimeoutRate: 1 });
    const outRefundNo = unique('R');
    for (let i = 0; i < 4; i++) {
      const e = await client({ timeoutMs: 150 })
        .createRefund({ out_trade_no: no, out_refund_no: outRefundNo, amount: { refund: 100, total: 100, currency: 'CNY' } })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WechatPayNetworkError);
    }
    await control.setFaults({});
    const answer = await client().createRefund({ out_trade_no: no, out_refund_no: outRefundNo, amount: { refund: 100, total: 100, currency: 'CNY' } });
    const listed = await control.refunds(no);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.refund_id).toBe(answer.refund_id);
    expect(listed[0]!.create_requests).toBeGreaterThanOrEqual(1);
  });

  it('notification faults apply to REFUND.* too: a duplicated notification keeps its id', async () => {
    const no = await paidOrder(100);
    const outRefundNo = unique('R');
    await control.setRefundPlan(outRefundNo, { status: 'SUCCESS', afterMs: 0 });
    await control.setFaults({ notifyDuplicateRate: 1 });
    await refund(no, outRefundNo, 100, 100);
    await client().queryRefund(outRefundNo);
    await eventually(() => received(outRefundNo).length >= 2, 10_000, 'duplicate REFUND.SUCCESS');
    const [a, b] = received(outRefundNo).map(decoded);
    expect(a!.event).toBe('REFUND.SUCCESS');
    expect(b!.id).toBe(a!.id);
    const { attempts } = await control.notifications(no);
    expect(attempts.some((x) => x.out_refund_no === outRefundNo && x.duplicate)).toBe(true);
  });

  it('a dropped REFUND.* attempt is retried on the schedule', async () => {
    const no = await paidOrder(100);
    const outRefundNo = unique('R');
    await control.setRefundPlan(outRefundNo, { status: 'SUCCESS', afterMs: 0 });
    await control.setFaults({ notifyDropRate: 1 });
    await refund(no, outRefundNo, 100, 100);
    await client().queryRefund(outRefundNo);
    await eventually(
      async () => (await control.notifications(no)).attempts.filter((x) => x.out_refund_no === outRefundNo && x.dropped).length >= 2,
      10_000,
      'two dropped attempts',
    );
    await control.setFaults({});
    await eventually(() => received(outRefundNo).length >= 1, 10_000, 'the retry after the drops');
    expect(decoded(received(outRefundNo)[0]!).event).toBe('REFUND.SUCCESS');
  });
});

describe('the refund window', () => {
  it('within a year of payment only (the simulated clock moves a year on)', async () => {
    const no = await paidOrder(100);
    await control.advanceClock(366 * 24 * 60 * MINUTE);
    const err = await apiError(refund(no, unique('R'), 1, 100));
    expect(err).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
    expect(err.wechatMessage).toContain('1年');
  });
});
