// The WeChat Pay simulator over real HTTP against real Postgres: what it accepts and refuses, how it signs,
// the order state machine, notifications (signature, encryption, retries, restarts) and the phone page.
// Requests are signed here with server/wechatpay/crypto.ts directly, not with the app's client, so the
// simulator is checked against the protocol rather than against our own client's habits.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aesGcmDecrypt,
  formatAuthorization,
  loadPrivateKey,
  loadPublicKey,
  randomNonce,
  requestMessage,
  signMessage,
  unixSeconds,
} from '../../server/wechatpay/crypto';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import { startSimulator, type RunningSimulator } from '../../simulator/server';

const TIME_SCALE = 0.001;

let dir: string;
let creds: SimCredentials;
let sim: RunningSimulator;
let receiver: Receiver;
let merchantKey: ReturnType<typeof loadPrivateKey>;
let verifier: WechatPayVerifier;

// ---------- a notify_url receiver ----------

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answeredWith: number;
}

interface Receiver {
  url: string;
  received: Received[];
  server: Server;
}

/** `/ok/...` answers 204; `/fail-N/...` answers 500 to the first N requests on that path, then 200. */
async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const p = req.url ?? '/';
    const failures = Number(/^\/fail-(\d+)\//.exec(p)?.[1] ?? 0);
    const seen = received.filter((r) => r.path === p).length;
    const status = seen < failures ? 500 : p.startsWith('/ok/') ? 204 : 200;
    received.push({ path: p, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answeredWith: status });
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(status >= 300 ? '{"code":"FAIL","message":"失败"}' : '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

// ---------- signed requests as a merchant would send them ----------

interface CallOptions {
  /** The Authorization parameters in PHP's order instead of GO's. */
  phpOrder?: boolean;
  timestamp?: string;
  omit?: ('accept' | 'user-agent')[];
  /** Sign these bytes but send `body`. */
  signedBody?: string;
  serialNo?: string;
  authMchid?: string;
  wechatpaySerial?: string;
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(method: 'GET' | 'POST', target: string, body = '', o: CallOptions = {}): Promise<Reply> {
  const timestamp = o.timestamp ?? unixSeconds();
  const nonce = randomNonce(32);
  const signature = signMessage(merchantKey, requestMessage(method, target, timestamp, nonce, o.signedBody ?? body));
  const p = { mchid: o.authMchid ?? creds.mchid, nonce_str: nonce, timestamp, serial_no: o.serialNo ?? creds.merchant.serial, signature };
  const authorization = o.phpOrder
    ? `WECHATPAY2-SHA256-RSA2048 mchid="${p.mchid}",serial_no="${p.serial_no}",timestamp="${p.timestamp}",nonce_str="${p.nonce_str}",signature="${p.signature}"`
    : formatAuthorization(p);
  // fetch supplies Accept and User-Agent when absent, so "missing" is sent as empty, which counts as missing.
  const headers: Record<string, string> = {
    Authorization: authorization,
    'Content-Type': 'application/json',
    Accept: o.omit?.includes('accept') ? '' : 'application/json',
    'User-Agent': o.omit?.includes('user-agent') ? '' : 'scanpay-simulator-test/1.0',
  };
  if (o.wechatpaySerial) headers['Wechatpay-Serial'] = o.wechatpaySerial;
  const res = await fetch(`${sim.url}${target}`, { method, headers, body: method === 'GET' ? undefined : body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

/** Every simulator answer must carry WeChat's headers and a valid signature over the exact body. */
function expectSigned(reply: Reply, serial = creds.wechatpayPublicKey.id): void {
  const h = reply.headers;
  expect(h.get('content-type')).toBe('application/json; charset=utf-8');
  expect(h.get('request-id')).toMatch(/^[0-9A-F]{40}-\d+$/);
  expect(h.get('request-id')!.endsWith('-0')).toBe(reply.status < 300);
  expect(h.get('wechatpay-nonce')).toMatch(/^[0-9a-f]{32}$/);
  expect(h.get('wechatpay-serial')).toBe(serial);
  expect(h.get('wechatpay-signature-type')).toBe('WECHATPAY2-SHA256-RSA2048');
  const result = verifier.verify(
    {
      timestamp: h.get('wechatpay-timestamp'),
      nonce: h.get('wechatpay-nonce'),
      signature: h.get('wechatpay-signature'),
      serial: h.get('wechatpay-serial'),
      signatureType: h.get('wechatpay-signature-type'),
    },
    reply.text,
  );
  expect(result).toEqual({ ok: true, serial });
}

let seq = 0;
function outTradeNo(): string {
  return `SIMT${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();
}

function prepayBody(no: string, overrides: Record<string, unknown> = {}, notifyPath = `/ok/${no}`): Record<string, unknown> {
  return {
    appid: creds.appid,
    mchid: creds.mchid,
    description: 'Scanpay 测试商品',
    out_trade_no: no,
    notify_url: `${receiver.url}${notifyPath}`,
    amount: { total: 1234, currency: 'CNY' },
    ...overrides,
  };
}

async function prepay(body: Record<string, unknown> | string, o: CallOptions = {}): Promise<Reply> {
  return call('POST', '/v3/pay/transactions/native', typeof body === 'string' ? body : JSON.stringify(body), o);
}

async function query(no: string): Promise<Reply> {
  return call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${creds.mchid}`);
}

async function simPay(codeUrl: string, extra: Record<string, unknown> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.url}/_sim/pay`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code_url: codeUrl, ...extra }),
  });
  return { status: res.status, json: await res.json() };
}

async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (the integration globalSetup provides it)');
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-sim-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'sim', 'credentials.json'));
  merchantKey = loadPrivateKey(creds.merchant.privateKeyPem);
  verifier = new WechatPayVerifier([
    [creds.wechatpayPublicKey.id, loadPublicKey(creds.wechatpayPublicKey.publicKeyPem)],
    [creds.platformCertificate.serial, loadPublicKey(creds.platformCertificate.certificatePem)],
  ]);
  receiver = await startReceiver();
  sim = await startMainSimulator();
});

function startMainSimulator(): Promise<RunningSimulator> {
  return startSimulator({
    port: 0,
    databaseUrl: process.env.DATABASE_URL!,
    credentials: creds,
    timeScale: TIME_SCALE,
    merchantName: 'Test Shop 测试店',
    log: () => {},
  });
}

afterAll(async () => {
  await sim?.close();
  await new Promise((r) => receiver?.server.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('credentials', () => {
  it('generates the documented shapes and reuses the file', async () => {
    expect(creds.mchid).toMatch(/^\d{10}$/);
    expect(creds.appid).toMatch(/^wx[0-9a-f]{16}$/);
    expect(creds.apiv3Key).toMatch(/^[\x21-\x7e]{32}$/);
    expect(creds.merchant.serial).toMatch(/^[0-9A-F]{40}$/);
    expect(creds.platformCertificate.serial).toMatch(/^[0-9A-F]{40}$/);
    expect(creds.wechatpayPublicKey.id).toMatch(/^PUB_KEY_ID_\d+$/);
    expect(creds.merchant.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    const again = await ensureSimulatorCredentials(path.join(dir, 'sim', 'credentials.json'));
    expect(again).toEqual(creds);
  });

  it('serves health and credentials on the control API', async () => {
    expect(await (await fetch(`${sim.url}/_sim/health`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${sim.url}/_sim/credentials`)).json()).toEqual(creds);
  });
});

describe('request verification', () => {
  it('accepts a signed prepay and signs the answer with the WeChat Pay public key', async () => {
    const reply = await prepay(prepayBody(outTradeNo()));
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ code_url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{10}$/) });
    expectSigned(reply);
  });

  it('signs with the platform certificate when Wechatpay-Serial names it', async () => {
    const reply = await prepay(prepayBody(outTradeNo()), { wechatpaySerial: creds.platformCertificate.serial });
    expect(reply.status).toBe(200);
    expectSigned(reply, creds.platformCertificate.serial);
    const other = await prepay(prepayBody(outTradeNo()), { wechatpaySerial: 'SOMETHING_ELSE' });
    expectSigned(other, creds.wechatpayPublicKey.id);
  });

  it('accepts Authorization parameters in any order', async () => {
    const reply = await prepay(prepayBody(outTradeNo()), { phpOrder: true });
    expect(reply.status).toBe(200);
  });

  it('hashes the raw bytes: a GO-style body with a trailing newline verifies', async () => {
    const reply = await prepay(`${JSON.stringify(prepayBody(outTradeNo()))}\n`);
    expect(reply.status).toBe(200);
  });

  it('rejects a bad signature with a signed 401 SIGN_ERROR', async () => {
    const body = JSON.stringify(prepayBody(outTradeNo()));
    const reply = await prepay(body, { signedBody: body.replace('1234', '1235') });
    expect(reply.status).toBe(401);
    expect(reply.json.code).toBe('SIGN_ERROR');
    expect(reply.headers.get('request-id')).toMatch(/-268443699$/);
    expectSigned(reply);
  });

  it('rejects a signature over a different request-target (query string is signed)', async () => {
    const target = `/v3/pay/transactions/out-trade-no/NOPE123456?mchid=${creds.mchid}`;
    const timestamp = unixSeconds();
    const nonce = randomNonce();
    const signature = signMessage(merchantKey, requestMessage('GET', target.split('?')[0]!, timestamp, nonce, ''));
    const res = await fetch(`${sim.url}${target}`, {
      headers: {
        Accept: 'application/json',
        'User-Agent': 't',
        Authorization: formatAuthorization({ mchid: creds.mchid, nonce_str: nonce, timestamp, serial_no: creds.merchant.serial, signature }),
      },
    });
    expect(res.status).toBe(401);
  });

  it('rejects an unknown merchant serial', async () => {
    const reply = await prepay(prepayBody(outTradeNo()), { serialNo: '0123456789ABCDEF0123456789ABCDEF01234567' });
    expect(reply.status).toBe(401);
    expect(reply.json).toMatchObject({ code: 'SIGN_ERROR', message: '商户证书序列号有误' });
  });

  it('rejects a timestamp more than 5 minutes off', async () => {
    const reply = await prepay(prepayBody(outTradeNo()), { timestamp: String(Math.floor(Date.now() / 1000) - 301) });
    expect(reply.status).toBe(401);
    expect(reply.json.code).toBe('SIGN_ERROR');
    expectSigned(reply);
  });

  it('requires Accept and User-Agent', async () => {
    for (const omit of [['accept'], ['user-agent']] as const) {
      const reply = await prepay(prepayBody(outTradeNo()), { omit: [...omit] });
      expect(reply.status).toBe(400);
      expect(reply.json).toEqual({ code: 'INVALID_REQUEST', message: 'Http头缺少Accept或User-Agent' });
      expectSigned(reply);
    }
  });

  it('requires the body mchid to equal the Authorization mchid', async () => {
    const reply = await prepay(prepayBody(outTradeNo(), { mchid: '1900000000' }));
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('INVALID_REQUEST');
  });

  it('answers a signed 404 for unknown endpoints', async () => {
    const reply = await call('GET', '/v3/nothing/here');
    expect(reply.status).toBe(404);
    expectSigned(reply);
  });
});

describe('prepay validation', () => {
  const cases: [string, (no: string) => Record<string, unknown> | string, string][] = [
    ['an unknown field', (no) => prepayBody(no, { colour: 'red' }), '/colour'],
    ['an unknown nested field', (no) => prepayBody(no, { amount: { total: 1, currency: 'CNY', fee: 1 } }), '/amount/fee'],
    ['null', (no) => prepayBody(no, { attach: null }), '/attach'],
    ['a 4-byte character', (no) => prepayBody(no, { description: 'coffee ☕ and cake 🍰' }), '/description'],
    ['an escaped 4-byte character', (no) => JSON.stringify(prepayBody(no)).replace('测试', '\\ud83c\\udf70'), '/description'],
    ['a short out_trade_no', () => prepayBody('ABC12'), '/out_trade_no'],
    ['a bad out_trade_no character', () => prepayBody('ABC123#4'), '/out_trade_no'],
    ['amount 0', (no) => prepayBody(no, { amount: { total: 0, currency: 'CNY' } }), '/amount/total'],
    ['a fractional amount', (no) => prepayBody(no, { amount: { total: 12.5, currency: 'CNY' } }), '/amount/total'],
    ['an amount as a string', (no) => prepayBody(no, { amount: { total: '100', currency: 'CNY' } }), '/amount/total'],
    ['a currency other than CNY', (no) => prepayBody(no, { amount: { total: 1, currency: 'USD' } }), '/amount/currency'],
    ['a notify_url with a query', (no) => prepayBody(no, { notify_url: `${receiver.url}/ok/x?a=1` }), '/notify_url'],
    ['a relative notify_url', (no) => prepayBody(no, { notify_url: '/api/wechatpay/notify' }), '/notify_url'],
    ['an impossible time_expire', (no) => prepayBody(no, { time_expire: '2030-02-30T10:00:00+08:00' }), '/time_expire'],
    ['a time_expire without offset', (no) => prepayBody(no, { time_expire: '2030-01-01T10:00:00' }), '/time_expire'],
    ['a 128-character description', (no) => prepayBody(no, { description: '商'.repeat(128) }), '/description'],
    ['a missing description', (no) => ({ ...prepayBody(no), description: undefined }), '/description'],
    ['a body that is not JSON', () => '{"appid":', ''],
  ];

  it.each(cases)('rejects %s with PARAM_ERROR', async (_name, build, field) => {
    const reply = await prepay(build(outTradeNo()));
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('PARAM_ERROR');
    if (field) expect(reply.json.detail.field).toBe(field);
    expectSigned(reply);
  });

  it('accepts out_trade_no with _ - | * and 127-character descriptions', async () => {
    const reply = await prepay(prepayBody(`A_b-c|d*${Date.now()}`, { description: '商'.repeat(127) }));
    expect(reply.status).toBe(200);
  });

  it('rejects a foreign appid', async () => {
    const reply = await prepay(prepayBody(outTradeNo(), { appid: 'wx0000000000000000' }));
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('APPID_MCHID_NOT_MATCH');
  });
});

describe('order semantics', () => {
  it('re-ordering with identical parameters issues a new code_url and retires the old one', async () => {
    const no = outTradeNo();
    const expire = new Date(Date.now() + 3600_000);
    const first = await prepay(prepayBody(no, { time_expire: expire.toISOString().replace('Z', '+00:00') }));
    expect(first.status).toBe(200);
    // Same parameters in another key order, time_expire as the same instant written differently.
    const { amount, ...rest } = prepayBody(no, { time_expire: expire.toISOString() });
    const second = await prepay({ amount, ...Object.fromEntries(Object.entries(rest).reverse()) });
    expect(second.status).toBe(200);
    expect(second.json.code_url).not.toBe(first.json.code_url);

    const stale = await simPay(first.json.code_url);
    expect(stale.status).toBe(400);
    expect(stale.json.code).toBe('CODE_URL_INVALID');
    expect((await simPay(second.json.code_url)).status).toBe(200);
  });

  it('re-ordering with different parameters is OUT_TRADE_NO_USED', async () => {
    const no = outTradeNo();
    expect((await prepay(prepayBody(no))).status).toBe(200);
    const changed = await prepay(prepayBody(no, { amount: { total: 1235, currency: 'CNY' } }));
    expect(changed.status).toBe(403);
    expect(changed.json.code).toBe('OUT_TRADE_NO_USED');
    expectSigned(changed);
    const withExpiry = await prepay(prepayBody(no, { time_expire: '2099-01-01T00:00:00+08:00' }));
    expect(withExpiry.json.code).toBe('OUT_TRADE_NO_USED');
  });

  it('answers an unpaid query in the NOTPAY shape', async () => {
    const no = outTradeNo();
    await prepay(prepayBody(no, { attach: 'cart-7' }));
    const reply = await query(no);
    expect(reply.status).toBe(200);
    expectSigned(reply);
    expect(reply.json).toEqual({
      amount: { payer_currency: 'CNY', total: 1234 },
      appid: creds.appid,
      mchid: creds.mchid,
      out_trade_no: no,
      promotion_detail: [],
      scene_info: { device_id: '' },
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
    });
  });

  it('answers ORDER_NOT_EXIST for unknown orders and requires mchid on queries', async () => {
    const unknown = await query('NO_SUCH_ORDER_1');
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('ORDER_NOT_EXIST');
    expectSigned(unknown);
    const noMchid = await call('GET', '/v3/pay/transactions/out-trade-no/NO_SUCH_ORDER_1');
    expect(noMchid.status).toBe(400);
  });

  it('pays through /_sim/pay: SUCCESS by out_trade_no and by transaction_id, then no re-order, close or second payment', async () => {
    const no = outTradeNo();
    const { json } = await prepay(prepayBody(no, { attach: 'cart-9' }));
    const unpaidById = await call('GET', `/v3/pay/transactions/id/4200000000202401010000000000?mchid=${creds.mchid}`);
    expect(unpaidById.status).toBe(404);

    const paid = await simPay(json.code_url);
    expect(paid.status).toBe(200);
    expect(paid.json.out_trade_no).toBe(no);
    expect(paid.json.transaction_id).toMatch(/^4200\d{24}$/);

    const byNo = await query(no);
    expect(byNo.status).toBe(200);
    expect(byNo.json).toMatchObject({
      transaction_id: paid.json.transaction_id,
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      attach: 'cart-9',
      payer: { openid: expect.stringMatching(/^o[\w-]{27}$/) },
      amount: { total: 1234, payer_total: 1234, currency: 'CNY', payer_currency: 'CNY' },
    });
    expect(byNo.json.success_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);

    const byId = await call('GET', `/v3/pay/transactions/id/${paid.json.transaction_id}?mchid=${creds.mchid}`);
    expect(byId.status).toBe(200);
    expectSigned(byId);
    expect(byId.json).toEqual(byNo.json);

    const reorder = await prepay(prepayBody(no, { attach: 'cart-9' }));
    expect(reorder.status).toBe(400);
    expect(reorder.json.code).toBe('ORDER_PAID');
    const close = await call('POST', `/v3/pay/transactions/out-trade-no/${no}/close`, JSON.stringify({ mchid: creds.mchid }));
    expect(close.status).toBe(400);
    expect(close.json.code).toBe('ORDER_PAID');
    const again = await simPay(json.code_url);
    expect(again).toMatchObject({ status: 400, json: { code: 'ORDER_PAID' } });
  });

  it('closes with a signed empty 204, re-entrantly; a closed order cannot be re-ordered or paid', async () => {
    const no = outTradeNo();
    const { json } = await prepay(prepayBody(no));
    const closeTarget = `/v3/pay/transactions/out-trade-no/${no}/close`;
    const close = await call('POST', closeTarget, JSON.stringify({ mchid: creds.mchid }));
    expect(close.status).toBe(204);
    expect(close.text).toBe('');
    expect(close.headers.get('content-length')).toBe('0');
    expectSigned(close);
    expect((await call('POST', closeTarget, JSON.stringify({ mchid: creds.mchid }))).status).toBe(204);

    expect((await query(no)).json).toMatchObject({ trade_state: 'CLOSED', trade_state_desc: '订单已关闭' });
    const reorder = await prepay(prepayBody(no));
    expect(reorder.status).toBe(400);
    expect(reorder.json.code).toBe('ORDER_CLOSED');
    expect(await simPay(json.code_url)).toMatchObject({ status: 400, json: { code: 'ORDER_CLOSED' } });

    // A payment racing the close (late payment) can still be simulated on request.
    const late = await simPay(json.code_url, { allowClosed: true });
    expect(late.status).toBe(200);
    expect((await query(no)).json.trade_state).toBe('SUCCESS');
  });

  it('closes an order lazily once time_expire has passed', async () => {
    const no = outTradeNo();
    // WeChat raises time_expire to at least order time + 1 minute; scaled by timeScale that is 60 ms here.
    const { json } = await prepay(prepayBody(no, { time_expire: new Date(Date.now() - 1000).toISOString() }));
    await new Promise((r) => setTimeout(r, 120));
    expect((await query(no)).json.trade_state).toBe('CLOSED');
    expect(await simPay(json.code_url)).toMatchObject({ status: 400, json: { code: 'ORDER_CLOSED' } });
    const record = await (await fetch(`${sim.url}/_sim/orders/${no}`)).json();
    expect(record).toMatchObject({ trade_state: 'CLOSED', close_reason: 'expired' });
  });

  it('accepts percent-encoded out_trade_no in the path (signature over the raw target)', async () => {
    const no = `PCT*${Date.now()}`;
    await prepay(prepayBody(no));
    const reply = await call('GET', `/v3/pay/transactions/out-trade-no/${no.replace('*', '%2A')}?mchid=${creds.mchid}`);
    expect(reply.status).toBe(200);
    expect(reply.json.out_trade_no).toBe(no);
  });
});

describe('notifications', () => {
  function verifyNotification(r: Received): void {
    const result = verifier.verify(
      {
        timestamp: String(r.headers['wechatpay-timestamp']),
        nonce: String(r.headers['wechatpay-nonce']),
        signature: String(r.headers['wechatpay-signature']),
        serial: String(r.headers['wechatpay-serial']),
        signatureType: String(r.headers['wechatpay-signature-type']),
      },
      r.body,
    );
    expect(result).toEqual({ ok: true, serial: creds.wechatpayPublicKey.id });
  }

  it('delivers an encrypted, signed TRANSACTION.SUCCESS right after payment', async () => {
    const no = outTradeNo();
    const { json } = await prepay(prepayBody(no, { attach: 'a1' }));
    const paidAt = Date.now();
    const paid = await simPay(json.code_url);
    const r = await eventually(() => receiver.received.find((x) => x.path === `/ok/${no}`));
    expect(Date.now() - paidAt).toBeLessThan(1_000);

    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['wechatpay-nonce']).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers['request-id']).toMatch(/^[0-9A-F]{40}-0$/);
    verifyNotification(r);

    const envelope = JSON.parse(r.body);
    expect(envelope).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      create_time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/),
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: {
        original_type: 'transaction',
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: expect.any(String),
        associated_data: 'transaction',
        nonce: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
      },
    });
    const { nonce, associated_data, ciphertext } = envelope.resource;
    const transaction = JSON.parse(aesGcmDecrypt(creds.apiv3Key, nonce, associated_data, ciphertext));
    expect(transaction).toMatchObject({
      mchid: creds.mchid,
      appid: creds.appid,
      out_trade_no: no,
      transaction_id: paid.json.transaction_id,
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      attach: 'a1',
      payer: { openid: expect.any(String) },
      amount: { total: 1234, payer_total: 1234, currency: 'CNY', payer_currency: 'CNY' },
    });
    // The plaintext is the same transaction the query API returns.
    expect(transaction).toEqual((await query(no)).json);

    const record = await eventually(async () => {
      const rec = await (await fetch(`${sim.url}/_sim/orders/${no}`)).json();
      return rec.notifications[0]?.status === 'delivered' ? rec : null;
    });
    expect(record.notifications[0]).toMatchObject({ attempts: 1, last_status: 204 });
  });

  it('retries after failures with fresh nonces and signatures, on the scaled schedule', async () => {
    const no = outTradeNo();
    const notifyPath = `/fail-2/${no}`;
    const { json } = await prepay(prepayBody(no, {}, notifyPath));
    await simPay(json.code_url);
    const attempts = await eventually(() => {
      const got = receiver.received.filter((x) => x.path === notifyPath);
      return got.length >= 3 ? got : null;
    });
    expect(attempts.map((a) => a.answeredWith)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((a) => a.headers['wechatpay-nonce'])).size).toBe(3);
    expect(new Set(attempts.map((a) => a.headers['wechatpay-signature'])).size).toBe(3);
    for (const a of attempts) verifyNotification(a);
    // Same notification each time: one id, one body.
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);

    const record = await eventually(async () => {
      const rec = await (await fetch(`${sim.url}/_sim/orders/${no}`)).json();
      return rec.notifications[0]?.status === 'delivered' ? rec : null;
    });
    expect(record.notifications[0]).toMatchObject({ attempts: 3, last_status: 200 });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received.filter((x) => x.path === notifyPath)).toHaveLength(3);
  });

  it('resumes pending deliveries after a simulator restart', async () => {
    const no = outTradeNo();
    const notifyPath = `/fail-1/${no}`;
    const { json } = await prepay(prepayBody(no, {}, notifyPath));
    // A slow schedule, so the retry is still pending when this instance stops.
    const slow = await startSimulator({ port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: 1, log: () => {} });
    // Stop the shared instance's notifier from racing: pay through the slow one only after closing ours.
    await sim.close();
    try {
      const paid = await fetch(`${slow.url}/_sim/pay`, { method: 'POST', body: JSON.stringify({ code_url: json.code_url }) });
      expect(paid.status).toBe(200);
      await eventually(() => receiver.received.find((x) => x.path === notifyPath));
    } finally {
      await slow.close();
    }
    expect(receiver.received.filter((x) => x.path === notifyPath)).toHaveLength(1);

    // The first attempt failed, the retry is due in 15 s at scale 1; a fast restart picks it up once due.
    await postgresShiftDue(no);
    sim = await startMainSimulator();
    const retried = await eventually(() => {
      const got = receiver.received.filter((x) => x.path === notifyPath);
      return got.length >= 2 ? got : null;
    });
    expect(retried.map((a) => a.answeredWith)).toEqual([500, 200]);
  });
});

/** Moves one order's pending delivery to "due now" (stands in for waiting out the 15-second retry). */
async function postgresShiftDue(no: string): Promise<void> {
  const sql = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    await sql`update wechatpay_sim.notifications set next_attempt_at = now() where mchid = ${creds.mchid} and out_trade_no = ${no} and status = 'pending'`;
  } finally {
    await sql.end();
  }
}

describe('phone page', () => {
  it('shows the order with Pay and Cancel; Cancel changes nothing, Pay pays', async () => {
    const no = outTradeNo();
    const { json } = await prepay(prepayBody(no, { description: 'Latte <large>' }));
    const pageUrl = `${sim.url}/pay?code_url=${encodeURIComponent(json.code_url)}`;
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('¥12.34');
    expect(html).toContain(no);
    expect(html).toContain('Test Shop 测试店');
    expect(html).toContain('Latte &lt;large&gt;');
    expect(html).toMatch(/<button[^>]*value="pay"[^>]*>[^<]*<span[^>]*>Pay<\/span><\/button>/);
    expect(html).toMatch(/<button[^>]*value="cancel"[^>]*>[^<]*<span[^>]*>Cancel<\/span><\/button>/);

    const form = (action: string) =>
      fetch(`${sim.url}/pay`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ code_url: json.code_url, action }).toString(),
      });
    const cancelled = await (await form('cancel')).text();
    expect(cancelled).toContain('Payment cancelled');
    expect(cancelled).toContain('已取消支付');
    expect((await query(no)).json.trade_state).toBe('NOTPAY');

    const paid = await form('pay');
    expect(paid.status).toBe(200);
    const paidHtml = await paid.text();
    expect(paidHtml).toContain('Payment successful');
    expect(paidHtml).toContain('支付成功');
    expect((await query(no)).json.trade_state).toBe('SUCCESS');
    await eventually(() => receiver.received.find((x) => x.path === `/ok/${no}`));

    const after = await fetch(pageUrl);
    expect(after.status).toBe(409);
    expect(await after.text()).toContain('This order has already been paid');
  });

  it('"insufficient balance" fails the payment visibly, pays nothing, and the order can still be paid', async () => {
    const no = outTradeNo();
    const { json } = await prepay(prepayBody(no));
    const html = await (await fetch(`${sim.url}/pay?code_url=${encodeURIComponent(json.code_url)}`)).text();
    expect(html).toMatch(/<button[^>]*value="insufficient"[^>]*>余额不足 <span[^>]*>Insufficient balance<\/span><\/button>/);
    expect(html).toContain('付款方式'); // the sheet shows the payment method, like WeChat's

    const form = (action: string) =>
      fetch(`${sim.url}/pay`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ code_url: json.code_url, action }).toString(),
      });
    const refused = await form('insufficient');
    expect(refused.status).toBe(402);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain('支付失败');
    expect(refusedHtml).toContain('零钱余额不足');
    expect(refusedHtml).toContain('Insufficient balance');
    expect((await query(no)).json.trade_state).toBe('NOTPAY');
    const record = await (await fetch(`${sim.url}/_sim/orders/${no}`)).json();
    expect(record.notifications).toHaveLength(0);

    expect((await form('pay')).status).toBe(200);
    expect((await query(no)).json.trade_state).toBe('SUCCESS');
  });

  it('explains a stale QR code and a closed order', async () => {
    const no = outTradeNo();
    const first = await prepay(prepayBody(no));
    await prepay(prepayBody(no));
    const stale = await fetch(`${sim.url}/pay?code_url=${encodeURIComponent(first.json.code_url)}`);
    expect(stale.status).toBe(410);
    const staleHtml = await stale.text();
    expect(staleHtml).toContain('二维码已失效');
    expect(staleHtml).toContain('This QR code has expired');

    const other = outTradeNo();
    const { json } = await prepay(prepayBody(other));
    await call('POST', `/v3/pay/transactions/out-trade-no/${other}/close`, JSON.stringify({ mchid: creds.mchid }));
    const closed = await fetch(`${sim.url}/pay?code_url=${encodeURIComponent(json.code_url)}`);
    expect(closed.status).toBe(410);
    expect(await closed.text()).toContain('This order has been closed');
  });
});
