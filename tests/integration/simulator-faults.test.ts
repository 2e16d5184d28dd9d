// Fault injection in the simulator (issue 3, PUT /_sim/faults): validation and persistence of the fault set,
// then each fault observed over real HTTP — API errors, latency and hangs, signature probes, key modes, and
// dropped, duplicated, delayed and reordered notifications with their delivery log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayClient, type WechatPayClientOptions } from '../../server/wechatpay/client';
import { loadPrivateKey } from '../../server/wechatpay/crypto';
import { WechatPayApiError, WechatPayNetworkError, WechatPayVerificationError } from '../../server/wechatpay/errors';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import { RETRY_SCHEDULE_MS } from '../../simulator/notifier';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { eventually, SimControl, SimControlError, simulatorVerifier, startNotifyReceiver, type NotifyReceiver } from '../../simulator/testkit';

const TIME_SCALE = 0.001;

let dir: string;
let creds: SimCredentials;
let sim: RunningSimulator;
let control: SimControl;
let receiver: NotifyReceiver;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-faults-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'credentials.json'));
  sim = await startSimulator({ port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: TIME_SCALE, log: () => {} });
  control = new SimControl(sim.url);
  // A correct merchant: 204 for a good signature, 401 for anything else (probes included).
  receiver = await startNotifyReceiver((n) => (receiverVerify(n).ok ? 204 : 401));
});

function receiverVerify(n: Parameters<NotifyReceiver['verify']>[0]) {
  return receiver.verify(n, creds);
}

afterEach(async () => {
  await control.setFaults({});
});

afterAll(async () => {
  await sim?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function client(options: Partial<WechatPayClientOptions> = {}): WechatPayClient {
  return new WechatPayClient({
    mchid: creds.mchid,
    appid: creds.appid,
    merchantSerial: creds.merchant.serial,
    merchantPrivateKey: loadPrivateKey(creds.merchant.privateKeyPem),
    verifier: simulatorVerifier(creds),
    baseUrl: sim.url,
    timeoutMs: 2_000,
    retries: 0,
    retryBaseDelayMs: 5,
    ...options,
  });
}

let seq = 0;
function outTradeNo(): string {
  return `FLT${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();
}

async function order(no = outTradeNo(), c = client()): Promise<{ no: string; codeUrl: string }> {
  const { code_url } = await c.nativePrepay({
    description: '故障注入',
    out_trade_no: no,
    notify_url: `${receiver.url}/n/${no}`,
    amount: { total: 100, currency: 'CNY' },
  });
  return { no, codeUrl: code_url };
}

async function rawGet(target: string, headers: Record<string, string> = {}): Promise<Response> {
  // Unsigned on purpose where only the response headers matter: a signed 401 still shows how answers are signed.
  return fetch(`${sim.url}${target}`, { headers: { Accept: 'application/json', 'User-Agent': 't', ...headers } });
}

describe('the fault set', () => {
  it('starts empty, is replaced as a whole by PUT and cleared by {}', async () => {
    expect(await control.faults()).toEqual({
      notifyDropRate: 0,
      notifyDuplicateRate: 0,
      notifyDelayMs: [0, 0],
      notifyReorder: false,
      probeSignatureRate: 0,
      apiErrorRate: 0,
      apiLatencyMs: [0, 0],
      apiTimeoutRate: 0,
      keyMode: null,
      refundErrorRate: 0,
      refundTimeoutRate: 0,
    });
    await control.setFaults({ notifyDropRate: 0.5, apiLatencyMs: [1, 2], keyMode: 'migrating' });
    await control.setFaults({ apiErrorRate: 0.25 });
    const faults = await control.faults();
    // The second PUT replaced the first entirely.
    expect(faults).toMatchObject({ apiErrorRate: 0.25, notifyDropRate: 0, apiLatencyMs: [0, 0], keyMode: null });
    await control.setFaults({});
    expect((await control.faults()).apiErrorRate).toBe(0);
  });

  it.each([
    ['a rate above 1', { apiErrorRate: 1.5 }],
    ['a negative rate', { notifyDropRate: -0.1 }],
    ['a range with min > max', { notifyDelayMs: [50, 10] }],
    ['a range that is not a pair', { apiLatencyMs: [5] }],
    ['an unknown key mode', { keyMode: 'both' }],
    ['an unknown fault (a typo must not silently do nothing)', { notifyDropRatio: 0.5 }],
  ])('refuses %s with 400', async (_name, body) => {
    const err = await control.setFaults(body as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimControlError);
    expect((err as SimControlError).status).toBe(400);
  });

  it('is stored in the simulator schema: another simulator process sees it, and so does a restart', async () => {
    await control.setFaults({ apiErrorRate: 0.5, keyMode: 'certificate' });
    const other = await startSimulator({ port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: TIME_SCALE, log: () => {} });
    try {
      expect(await new SimControl(other.url).faults()).toMatchObject({ apiErrorRate: 0.5, keyMode: 'certificate' });
    } finally {
      await other.close();
    }
  });
});

describe('API faults', () => {
  it('apiErrorRate answers a signed 500 SYSTEM_ERROR without performing the operation', async () => {
    await control.setFaults({ apiErrorRate: 1 });
    const no = outTradeNo();
    const err = await order(no).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WechatPayApiError);
    expect(err).toMatchObject({ httpStatus: 500, code: 'SYSTEM_ERROR', retryable: true, requestId: expect.stringMatching(/-\d+$/) });
    await control.setFaults({});
    const query = await client()
      .queryByOutTradeNo(no)
      .catch((e: unknown) => e);
    expect(query).toMatchObject({ httpStatus: 404, code: 'ORDER_NOT_EXIST' });
  });

  it('apiErrorRate answers are signed like every other answer', async () => {
    await control.setFaults({ apiErrorRate: 1 });
    const res = await rawGet(`/v3/pay/transactions/out-trade-no/NOSUCH123?mchid=${creds.mchid}`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'SYSTEM_ERROR' });
    const verdict = simulatorVerifier(creds).verify(
      {
        timestamp: res.headers.get('wechatpay-timestamp'),
        nonce: res.headers.get('wechatpay-nonce'),
        signature: res.headers.get('wechatpay-signature'),
        serial: res.headers.get('wechatpay-serial'),
      },
      body,
    );
    expect(verdict.ok).toBe(true);
  });

  it('a client with retries rides out a 50 % error rate (same out_trade_no, same parameters)', async () => {
    await control.setFaults({ apiErrorRate: 0.5 });
    const c = client({ retries: 12 });
    const { no } = await order(outTradeNo(), c);
    await control.setFaults({});
    expect((await client().queryByOutTradeNo(no)).trade_state).toBe('NOTPAY');
  });

  it('apiLatencyMs delays every call', async () => {
    await control.setFaults({ apiLatencyMs: [150, 150] });
    const started = Date.now();
    await order();
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('apiTimeoutRate hangs past the client timeout; some of the hung calls did the work first', async () => {
    await control.setFaults({ apiTimeoutRate: 1 });
    const numbers = Array.from({ length: 16 }, () => outTradeNo());
    const results = await Promise.all(numbers.map((no) => order(no, client({ timeoutMs: 300 })).catch((e: unknown) => e)));
    for (const r of results) expect(r).toBeInstanceOf(WechatPayNetworkError);
    expect(results[0]).toMatchObject({ kind: 'timeout', retryable: true });
    await control.setFaults({});
    const exists = await Promise.all(
      numbers.map((no) =>
        client()
          .queryByOutTradeNo(no)
          .then(() => true)
          .catch(() => false),
      ),
    );
    // TIMEOUT_AFTER_WORK_RATE = 0.5: all-or-nothing would be a 2 × 0.5^16 fluke.
    expect(exists.filter(Boolean).length).toBeGreaterThan(0);
    expect(exists.filter(Boolean).length).toBeLessThan(numbers.length);
  });

  it('probeSignatureRate sends WECHATPAY/SIGNTEST/ signatures that the client refuses as probes, and retries through', async () => {
    await control.setFaults({ probeSignatureRate: 1 });
    const res = await rawGet('/v3/nothing');
    expect(res.headers.get('wechatpay-signature')).toMatch(/^WECHATPAY\/SIGNTEST\//);
    const err = await order().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WechatPayVerificationError);
    expect(err).toMatchObject({ reason: 'signature_probe', retryable: true });

    await control.setFaults({ probeSignatureRate: 0.5 });
    const c = client({ retries: 12 });
    for (let i = 0; i < 5; i++) await order(outTradeNo(), c);
  });
});

describe('key modes', () => {
  const pub = () => creds.wechatpayPublicKey.id;
  const cert = () => creds.platformCertificate.serial;

  async function signedBy(wechatpaySerial?: string): Promise<string | null> {
    const res = await rawGet('/v3/nothing', wechatpaySerial ? { 'Wechatpay-Serial': wechatpaySerial } : {});
    return res.headers.get('wechatpay-serial');
  }

  it('certificate: everything is signed with the platform certificate', async () => {
    await control.setFaults({ keyMode: 'certificate' });
    expect(await signedBy(pub())).toBe(cert());
    expect(await signedBy()).toBe(cert());
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const n = await eventually(() => receiver.received.find((r) => r.path === `/n/${no}`));
    expect(n.headers['wechatpay-serial']).toBe(cert());
    expect(n.status).toBe(204);
  });

  it('public-key: everything is signed with the WeChat Pay public key, and there are no certificates', async () => {
    await control.setFaults({ keyMode: 'public-key' });
    expect(await signedBy(cert())).toBe(pub());
    const err = await client()
      .downloadCertificates(creds.apiv3Key)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatus: 404, code: 'NOT_FOUND' });
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const n = await eventually(() => receiver.received.find((r) => r.path === `/n/${no}`));
    expect(n.headers['wechatpay-serial']).toBe(pub());
  });

  it('migrating: answers follow Wechatpay-Serial, notifications come signed by either key', async () => {
    await control.setFaults({ keyMode: 'migrating' });
    expect(await signedBy(pub())).toBe(pub());
    expect(await signedBy(cert())).toBe(cert());
    expect(await signedBy()).toBe(cert()); // before the merchant switches, WeChat signs with the certificate
    const orders = await Promise.all(Array.from({ length: 16 }, () => order()));
    for (const o of orders) await control.pay({ code_url: o.codeUrl });
    const got = await eventually(() => {
      const list = orders.map((o) => receiver.received.find((r) => r.path === `/n/${o.no}`));
      return list.every(Boolean) ? list : null;
    });
    const serials = new Set(got.map((n) => n!.headers['wechatpay-serial']));
    expect(serials).toEqual(new Set([pub(), cert()]));
    for (const n of got) expect(n!.status).toBe(204);
  });

  it('no mode forced: answers follow Wechatpay-Serial, public key otherwise', async () => {
    expect(await signedBy(cert())).toBe(cert());
    expect(await signedBy('PUB_KEY_ID_UNKNOWN')).toBe(pub());
  });
});

describe('notification faults', () => {
  it('a probe-signed notification refused with 401 is resent correctly signed', async () => {
    const { no, codeUrl } = await order(); // before the fault: API answers would be probes too
    await control.setFaults({ probeSignatureRate: 1 });
    await control.pay({ code_url: codeUrl });
    const { attempts } = await eventually(async () => {
      const log = await control.notifications(no);
      return log.notifications[0]?.status === 'delivered' ? log : null;
    });
    expect(attempts.map((a) => [a.number, a.probe, a.http_status])).toEqual([
      [1, true, 401],
      [2, false, 204],
    ]);
    const got = receiver.received.filter((r) => r.path === `/n/${no}`);
    expect(got[0]!.headers['wechatpay-signature']).toMatch(/^WECHATPAY\/SIGNTEST\//);
    expect(got[1]!.body).toBe(got[0]!.body);
  });

  it('dropped attempts are never sent, yet follow the retry schedule until one gets through', async () => {
    await control.setFaults({ notifyDropRate: 1 });
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    // Attempts 1–4 are due after 0, 15, 30 and 60 ms (× 1000 in real life); attempt 5 only 180 ms later.
    const dropped = await eventually(async () => {
      const log = await control.notifications(no);
      return log.attempts.length >= 4 ? log.attempts : null;
    });
    await control.setFaults({});
    const { attempts } = await eventually(async () => {
      const log = await control.notifications(no);
      return log.notifications[0]?.status === 'delivered' ? log : null;
    }, 10_000);
    expect(dropped.every((a) => a.dropped && a.http_status === null && a.latency_ms === null)).toBe(true);
    expect(attempts.map((a) => a.number)).toEqual(attempts.map((_, i) => i + 1));
    const last = attempts[attempts.length - 1];
    expect(last).toMatchObject({ dropped: false, http_status: 204, probe: false });
    expect(receiver.received.filter((r) => r.path === `/n/${no}`)).toHaveLength(1);
    for (let i = 1; i < attempts.length; i++) {
      const gap = Date.parse(attempts[i]!.at) - Date.parse(attempts[i - 1]!.at);
      expect(gap).toBeGreaterThanOrEqual(RETRY_SCHEDULE_MS[i - 1]! * TIME_SCALE - 2);
    }
  });

  it('duplicates deliver the same notification (same id and body) twice with fresh signatures', async () => {
    await control.setFaults({ notifyDuplicateRate: 1 });
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const got = await eventually(() => {
      const list = receiver.received.filter((r) => r.path === `/n/${no}`);
      return list.length >= 2 ? list : null;
    });
    expect(got[1]!.body).toBe(got[0]!.body);
    expect(JSON.parse(got[1]!.body).id).toBe(JSON.parse(got[0]!.body).id);
    expect(got[1]!.headers['wechatpay-signature']).not.toBe(got[0]!.headers['wechatpay-signature']);
    for (const n of got) expect(receiverVerify(n).ok).toBe(true);
    const { attempts } = await eventually(async () => {
      const log = await control.notifications(no);
      return log.attempts.length >= 2 ? log : null;
    });
    expect(attempts.map((a) => [a.number, a.duplicate])).toEqual([
      [1, false],
      [1, true],
    ]);
  });

  it('notifyDelayMs holds each attempt back', async () => {
    await control.setFaults({ notifyDelayMs: [250, 250] });
    const { no, codeUrl } = await order();
    const paidAt = Date.now();
    await control.pay({ code_url: codeUrl });
    const n = await eventually(() => receiver.received.find((r) => r.path === `/n/${no}`));
    expect(n.at - paidAt).toBeGreaterThanOrEqual(240);
    // The attempt is logged once the answer is in, a moment after the receiver saw it.
    const { attempts } = await eventually(async () => {
      const log = await control.notifications(no);
      return log.attempts.length ? log : null;
    });
    expect(attempts[0]!.delayed_ms).toBe(250);
  });

  it('notifyReorder with random delays lets later payments overtake earlier ones', async () => {
    await control.setFaults({ notifyReorder: true, notifyDelayMs: [0, 400] });
    const orders = [];
    for (let i = 0; i < 12; i++) orders.push(await order());
    for (const o of orders) await control.pay({ code_url: o.codeUrl });
    const paths = orders.map((o) => `/n/${o.no}`);
    await eventually(() => paths.every((p) => receiver.received.some((r) => r.path === p)));
    const arrival = receiver.received.filter((r) => paths.includes(r.path)).map((r) => paths.indexOf(r.path));
    expect(arrival).not.toEqual([...arrival].sort((a, b) => a - b));
  });

  it('GET /_sim/notifications lists every attempt of every order without a filter', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    await eventually(async () => (await control.notifications(no)).notifications[0]?.status === 'delivered');
    const all = await control.notifications();
    expect(all.attempts.some((a) => a.out_trade_no === no && a.http_status === 204 && a.latency_ms !== null)).toBe(true);
  });
});

describe('POST /_sim/pay', () => {
  it('pays a closed order by out_trade_no even after its code_url was superseded (late payment)', async () => {
    const no = outTradeNo();
    const first = await order(no);
    const second = await order(no); // same parameters: a new code_url, the first one retired
    expect(second.codeUrl).not.toBe(first.codeUrl);
    await client().closeOrder(no);
    await expect(control.pay({ out_trade_no: no })).rejects.toMatchObject({ status: 400, body: { code: 'ORDER_CLOSED' } });
    const paid = await control.pay({ out_trade_no: no, allowClosed: true });
    expect(paid).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS', transaction_id: expect.stringMatching(/^4200\d{24}$/) });
    expect((await client().queryByOutTradeNo(no)).trade_state).toBe('SUCCESS');
  });

  it('INSUFFICIENT_BALANCE refuses the payment and changes nothing', async () => {
    const { no, codeUrl } = await order();
    const refused = await control.pay({ code_url: codeUrl, outcome: 'INSUFFICIENT_BALANCE' });
    expect(refused).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', transaction_id: null, outcome: 'INSUFFICIENT_BALANCE' });
    expect((await client().queryByOutTradeNo(no)).trade_state).toBe('NOTPAY');
    expect((await control.notifications(no)).notifications).toHaveLength(0);
    expect(await control.pay({ code_url: codeUrl, outcome: 'SUCCESS' })).toMatchObject({ trade_state: 'SUCCESS' });
  });

  it('refuses a body with both or neither identifier, or unknown fields', async () => {
    for (const body of [{}, { code_url: 'x', out_trade_no: 'y' }, { code_url: 'x', colour: 'red' }, { code_url: 'x', outcome: 'MAYBE' }]) {
      await expect(control.pay(body as never)).rejects.toMatchObject({ status: 400 });
    }
  });
});
