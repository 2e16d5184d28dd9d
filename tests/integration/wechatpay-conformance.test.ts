// Conformance, walking reference §14 ("things a naive implementation gets wrong") item by item. For each
// mistake: the client (or parseNotification, for the merchant's side of notifications) does not make it, and
// the simulator refuses a request that does — or, for mistakes only WeChat's side can expose, behaves so that
// the mistake would show. Requests that make mistakes are built by hand with the crypto primitives.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTradeBill } from '../../server/wechatpay/bill';
import { CertificateManager } from '../../server/wechatpay/certificates';
import { WechatPayClient, type WechatPayClientOptions } from '../../server/wechatpay/client';
import {
  formatAuthorization,
  loadPrivateKey,
  loadPublicKey,
  parseAuthorization,
  randomNonce,
  requestMessage,
  responseMessage,
  signMessage,
  unixSeconds,
  verifyMessage,
} from '../../server/wechatpay/crypto';
import { type WechatPayApiError, WechatPayRequestError, WechatPayVerificationError } from '../../server/wechatpay/errors';
import { parseNotification, parseRefundResource, parseTransactionResource } from '../../server/wechatpay/notification';
import { Transaction } from '../../server/wechatpay/schemas';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { eventually, SimControl, simulatorVerifier, startNotifyReceiver, type NotifyReceiver, type ReceivedNotification } from '../../simulator/testkit';

let dir: string;
let creds: SimCredentials;
let sim: RunningSimulator;
let control: SimControl;
let receiver: NotifyReceiver;
/** What the receiver answers, per path prefix (default 204). */
const answers = new Map<string, number>();

interface Captured {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}
let captured: Captured[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-conformance-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'credentials.json'));
  sim = await startSimulator({ port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: 0.001, log: () => {} });
  control = new SimControl(sim.url);
  receiver = await startNotifyReceiver((n) => {
    for (const [prefix, status] of answers) if (n.path.startsWith(prefix)) return status;
    return 204;
  });
});

afterEach(async () => {
  captured = [];
  await control.setFaults({});
});

afterAll(async () => {
  await sim?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const merchantKey = () => loadPrivateKey(creds.merchant.privateKeyPem);
const merchantPublic = () => loadPublicKey(creds.merchant.certificatePem);

/** The app's client, with every request it sends captured exactly as handed to fetch. */
function client(options: Partial<WechatPayClientOptions> = {}): WechatPayClient {
  return new WechatPayClient({
    mchid: creds.mchid,
    appid: creds.appid,
    merchantSerial: creds.merchant.serial,
    merchantPrivateKey: merchantKey(),
    verifier: simulatorVerifier(creds),
    baseUrl: sim.url,
    retries: 0,
    retryBaseDelayMs: 2,
    acceptSerial: creds.wechatpayPublicKey.id,
    fetch: async (input, init) => {
      const url = input instanceof URL ? input.href : String(input);
      captured.push({ url, method: init?.method ?? 'GET', headers: new Headers(init?.headers), body: typeof init?.body === 'string' ? init.body : '' });
      return fetch(input, init);
    },
    ...options,
  });
}

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

interface RawOptions {
  /** Build the signed message differently (the mistake under test). */
  message?: (m: { method: string; target: string; timestamp: string; nonce: string; body: string }) => string;
  timestamp?: string;
  serialNo?: string;
  authorization?: (p: { mchid: string; nonce_str: string; timestamp: string; serial_no: string; signature: string }) => string;
  headers?: Record<string, string>;
}

/** A hand-made request: correct unless an option introduces a mistake. */
async function raw(method: 'GET' | 'POST', target: string, body = '', o: RawOptions = {}): Promise<Raw> {
  const timestamp = o.timestamp ?? unixSeconds();
  const nonce = randomNonce(32);
  const message = o.message ? o.message({ method, target, timestamp, nonce, body }) : requestMessage(method, target, timestamp, nonce, body);
  const p = { mchid: creds.mchid, nonce_str: nonce, timestamp, serial_no: o.serialNo ?? creds.merchant.serial, signature: signMessage(merchantKey(), message) };
  const res = await fetch(`${sim.url}${target}`, {
    method,
    headers: {
      Authorization: o.authorization ? o.authorization(p) : formatAuthorization(p),
      Accept: 'application/json',
      'User-Agent': 'conformance/1.0',
      'Content-Type': 'application/json',
      ...o.headers,
    },
    body: method === 'GET' ? undefined : body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

let seq = 0;
const unique = (prefix = 'CF') => `${prefix}${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();

function prepayBody(no: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    appid: creds.appid,
    mchid: creds.mchid,
    description: '一致性',
    out_trade_no: no,
    notify_url: `${receiver.url}/c/${no}`,
    amount: { total: 100, currency: 'CNY' },
    ...overrides,
  };
}

async function order(no = unique()): Promise<{ no: string; codeUrl: string }> {
  const r = await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(no)));
  expect(r.status).toBe(200);
  return { no, codeUrl: r.json.code_url };
}

async function delivered(pathname: string): Promise<ReceivedNotification> {
  return eventually(() => receiver.received.find((r) => r.path === pathname));
}

function headersOf(n: ReceivedNotification): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(n.headers)) if (typeof v === 'string') h.set(k, v);
  return h;
}

/** The client's own request signature, recomputed from what it put on the wire. */
function clientSignatureValid(c: Captured, message: string): boolean {
  const auth = parseAuthorization(c.headers.get('authorization'));
  return !!auth && verifyMessage(merchantPublic(), message, auth.signature);
}

describe('§14 #1 the signed message ends every line, the last one included, with \\n', () => {
  it('client: its signature is over METHOD\\nURL\\nTS\\nNONCE\\nBODY\\n (GET: NONCE\\n\\n)', async () => {
    const { no } = await order();
    await client().queryByOutTradeNo(no);
    const c = captured[0]!;
    const auth = parseAuthorization(c.headers.get('authorization'))!;
    const u = new URL(c.url);
    const target = u.pathname + u.search;
    expect(clientSignatureValid(c, `GET\n${target}\n${auth.timestamp}\n${auth.nonce_str}\n\n`)).toBe(true);
    expect(clientSignatureValid(c, `GET\n${target}\n${auth.timestamp}\n${auth.nonce_str}\n`)).toBe(false);
  });

  it('simulator: refuses a signature without the final \\n, or with \\r\\n', async () => {
    const body = JSON.stringify(prepayBody(unique()));
    const noFinal = await raw('POST', '/v3/pay/transactions/native', body, {
      message: (m) => `${m.method}\n${m.target}\n${m.timestamp}\n${m.nonce}\n${m.body}`,
    });
    const crlf = await raw('POST', '/v3/pay/transactions/native', body, {
      message: (m) => `${m.method}\r\n${m.target}\r\n${m.timestamp}\r\n${m.nonce}\r\n${m.body}\r\n`,
    });
    for (const r of [noFinal, crlf]) expect(r).toMatchObject({ status: 401, json: { code: 'SIGN_ERROR' } });
  });
});

describe('§14 #2 the query string and the exact encoding are signed', () => {
  it('client: queries an out_trade_no with * and |, signing the encoded target it sends', async () => {
    const no = `C*F|${Date.now()}`;
    await order(no);
    const t = await client().queryByOutTradeNo(no);
    expect(t.out_trade_no).toBe(no);
    expect(new URL(captured[0]!.url).search).toBe(`?mchid=${creds.mchid}`);
  });

  it('simulator: refuses a signature over the path without ?mchid=, or over another encoding than sent', async () => {
    const no = `C*F${Date.now()}`;
    await order(no);
    const withoutQuery = await raw('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${creds.mchid}`, '', {
      message: (m) => requestMessage(m.method, m.target.split('?')[0]!, m.timestamp, m.nonce, ''),
    });
    const otherEncoding = await raw('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${creds.mchid}`, '', {
      message: (m) => requestMessage(m.method, m.target.replace('*', '%2A'), m.timestamp, m.nonce, ''),
    });
    for (const r of [withoutQuery, otherEncoding]) expect(r.status).toBe(401);
  });
});

describe('§14 #3 the exact body bytes are signed, never a re-serialisation', () => {
  it('client: the body it signed is byte for byte the body it sent', async () => {
    await client().nativePrepay({ description: '字节', out_trade_no: unique(), notify_url: `${receiver.url}/c/x`, amount: { total: 1, currency: 'CNY' } });
    const c = captured[0]!;
    const auth = parseAuthorization(c.headers.get('authorization'))!;
    expect(clientSignatureValid(c, requestMessage('POST', '/v3/pay/transactions/native', auth.timestamp, auth.nonce_str, c.body))).toBe(true);
  });

  it('simulator: refuses a signature over a re-serialised body (other key order, whitespace, escaping)', async () => {
    const body = JSON.stringify(prepayBody(unique()));
    const variants = [
      (b: string) => JSON.stringify(JSON.parse(b), null, 2),
      (b: string) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(b)).reverse())),
      (b: string) => b.replace('一致性', '\\u4e00\\u81f4\\u6027'),
    ];
    for (const reserialise of variants) {
      const r = await raw('POST', '/v3/pay/transactions/native', body, {
        message: (m) => requestMessage(m.method, m.target, m.timestamp, m.nonce, reserialise(m.body)),
      });
      expect(r.status).toBe(401);
    }
  });
});

describe('§14 #4 timestamps are whole seconds within 5 minutes', () => {
  it('client: sends a 10-digit seconds timestamp; with its clock 6 minutes off, WeChat refuses it', async () => {
    const { no } = await order();
    await client().queryByOutTradeNo(no);
    expect(parseAuthorization(captured[0]!.headers.get('authorization'))!.timestamp).toMatch(/^\d{10}$/);
    const skewed = await client({ now: () => Date.now() - 6 * 60_000 })
      .queryByOutTradeNo(no)
      .catch((e: unknown) => e);
    expect(skewed).toMatchObject({ httpStatus: 401, code: 'SIGN_ERROR' });
  });

  it('simulator: refuses millisecond timestamps and 6-minute drift either way', async () => {
    const body = JSON.stringify(prepayBody(unique()));
    for (const timestamp of [String(Date.now()), String(Math.floor(Date.now() / 1000) - 360), String(Math.floor(Date.now() / 1000) + 360)]) {
      expect((await raw('POST', '/v3/pay/transactions/native', body, { timestamp })).status).toBe(401);
    }
  });
});

describe('§14 #5 Authorization names the merchant certificate; answers are verified with WeChat keys', () => {
  it('client: serial_no is the merchant serial; a verifier holding the merchant certificate instead rejects every answer', async () => {
    const { no } = await order();
    await client().queryByOutTradeNo(no);
    expect(parseAuthorization(captured[0]!.headers.get('authorization'))!.serial_no).toBe(creds.merchant.serial);
    const wrong = new WechatPayVerifier([
      [creds.wechatpayPublicKey.id, merchantPublic()],
      [creds.platformCertificate.serial, merchantPublic()],
    ]);
    expect(
      await client({ verifier: wrong })
        .queryByOutTradeNo(no)
        .catch((e: unknown) => e),
    ).toMatchObject({ reason: 'bad_signature' });
  });

  it('simulator: refuses the platform serial or the public-key id in serial_no', async () => {
    for (const serialNo of [creds.platformCertificate.serial, creds.wechatpayPublicKey.id]) {
      const r = await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique())), { serialNo });
      expect(r).toMatchObject({ status: 401, json: { code: 'SIGN_ERROR', message: '商户证书序列号有误' } });
    }
  });
});

describe('§14 #6 Authorization parameters come in any order', () => {
  it('simulator: accepts GO, PHP and official-sample orders; refuses a missing parameter', async () => {
    const orders = [
      (p: Record<string, string>) =>
        `WECHATPAY2-SHA256-RSA2048 mchid="${p.mchid}",serial_no="${p.serial_no}",timestamp="${p.timestamp}",nonce_str="${p.nonce_str}",signature="${p.signature}"`,
      (p: Record<string, string>) =>
        `WECHATPAY2-SHA256-RSA2048 mchid="${p.mchid}",nonce_str="${p.nonce_str}",signature="${p.signature}",timestamp="${p.timestamp}",serial_no="${p.serial_no}"`,
      (p: Record<string, string>) =>
        `WECHATPAY2-SHA256-RSA2048 signature="${p.signature}",timestamp="${p.timestamp}",serial_no="${p.serial_no}",nonce_str="${p.nonce_str}",mchid="${p.mchid}"`,
    ];
    for (const authorization of orders) {
      expect((await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique())), { authorization })).status).toBe(200);
    }
    const missing = await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique())), {
      authorization: (p) => `WECHATPAY2-SHA256-RSA2048 mchid="${p.mchid}",nonce_str="${p.nonce_str}",signature="${p.signature}",timestamp="${p.timestamp}"`,
    });
    expect(missing.status).toBe(401);
  });
});

describe('§14 #7 every 2xx answer is verified; non-2xx answers never crash', () => {
  let proxy: Server;
  let proxyUrl: string;
  beforeAll(async () => {
    // Forwards to the simulator and strips the signature from every answer: a forged/unsigned 2xx.
    proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<
        string,
        string
      >;
      const upstream = await fetch(`${sim.url}${req.url}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : Buffer.concat(chunks) });
      const out = Buffer.from(await upstream.arrayBuffer());
      const kept = Object.fromEntries([...upstream.headers].filter(([k]) => !k.startsWith('wechatpay-') && k !== 'content-length'));
      res.writeHead(upstream.status, kept).end(out);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy.close(r));
  });

  it('client: an unsigned 200 and an unsigned 204 are errors, an unsigned 404 is a clean API error', async () => {
    const { no } = await order();
    const via = client({ baseUrl: proxyUrl });
    expect(await via.queryByOutTradeNo(no).catch((e: unknown) => e)).toMatchObject({ reason: 'missing_headers', httpStatus: 200 });
    expect(await via.closeOrder(no).catch((e: unknown) => e)).toBeInstanceOf(WechatPayVerificationError);
    expect(await via.queryByOutTradeNo('NO_SUCH_ORDER').catch((e: unknown) => e)).toMatchObject({ httpStatus: 404, code: 'ORDER_NOT_EXIST' });
  });

  it('simulator: signs 2xx, 204, 4xx and 5xx answers alike', async () => {
    const { no } = await order();
    await control.setFaults({ apiErrorRate: 1 });
    const err500 = await raw('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${creds.mchid}`);
    await control.setFaults({});
    const replies = [
      await raw('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${creds.mchid}`),
      await raw('POST', `/v3/pay/transactions/out-trade-no/${no}/close`, JSON.stringify({ mchid: creds.mchid })),
      await raw('GET', `/v3/pay/transactions/out-trade-no/NOSUCH123?mchid=${creds.mchid}`),
      err500,
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 204, 404, 500]);
    for (const r of replies) {
      const h = r.headers;
      expect(
        simulatorVerifier(creds).verify(
          {
            timestamp: h.get('wechatpay-timestamp'),
            nonce: h.get('wechatpay-nonce'),
            signature: h.get('wechatpay-signature'),
            serial: h.get('wechatpay-serial'),
          },
          r.text,
        ).ok,
      ).toBe(true);
    }
  });
});

describe('§14 #8 key rotation and migration', () => {
  it('client: a certificate-mode merchant learns a rotated certificate through one refresh', async () => {
    const { no } = await order();
    await control.setFaults({ keyMode: 'certificate' });
    const verifier = new WechatPayVerifier(); // nothing known yet: the certificate "rotated in"
    let manager: CertificateManager | undefined;
    const c = client({ verifier, acceptSerial: undefined, onUnknownSerial: (s) => manager!.refreshForSerial(s) });
    manager = new CertificateManager({ client: c, verifier, apiv3Key: creds.apiv3Key });
    expect((await c.queryByOutTradeNo(no)).trade_state).toBe('NOTPAY');
    expect(verifier.has(creds.platformCertificate.serial)).toBe(true);
  });

  it('simulator: while migrating, notifications come signed by both keys, so a verifier with only one fails some', async () => {
    await control.setFaults({ keyMode: 'migrating' });
    const orders = await Promise.all(Array.from({ length: 12 }, () => order()));
    for (const o of orders) await control.pay({ code_url: o.codeUrl });
    const got = await Promise.all(orders.map((o) => delivered(`/c/${o.no}`)));
    const onlyPublicKey = new WechatPayVerifier([[creds.wechatpayPublicKey.id, loadPublicKey(creds.wechatpayPublicKey.publicKeyPem)]]);
    const results = got.map((n) => parseNotification({ headers: headersOf(n), body: n.body, verifier: onlyPublicKey, apiv3Key: creds.apiv3Key }));
    expect(results.some((r) => r.ok)).toBe(true);
    expect(results.some((r) => !r.ok && r.reason === 'unknown_serial')).toBe(true);
    for (const n of got)
      expect(parseNotification({ headers: headersOf(n), body: n.body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key }).ok).toBe(true);
  });
});

describe('§14 #9 WECHATPAY/SIGNTEST probes fail cleanly, and a refused probe is resent', () => {
  it('client and notification parser: a probe is a verification failure, not a crash, never trusted', async () => {
    const { no, codeUrl } = await order();
    await control.setFaults({ probeSignatureRate: 1 });
    expect(
      await client()
        .queryByOutTradeNo(no)
        .catch((e: unknown) => e),
    ).toMatchObject({ reason: 'signature_probe' });
    answers.set(`/c/${no}`, 401);
    await control.pay({ code_url: codeUrl });
    const probe = await delivered(`/c/${no}`);
    expect(probe.headers['wechatpay-signature']).toMatch(/^WECHATPAY\/SIGNTEST\//);
    expect(parseNotification({ headers: headersOf(probe), body: probe.body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key })).toEqual({
      ok: false,
      reason: 'signature_probe',
    });
  });

  it('simulator: after a refused probe the next attempt is correctly signed', async () => {
    const { no, codeUrl } = await order();
    await control.setFaults({ probeSignatureRate: 1 });
    answers.set(`/c/${no}`, 401); // refuse everything: the first retry must not be a probe
    await control.pay({ code_url: codeUrl });
    const attempts = await eventually(async () => {
      const log = await control.notifications(no);
      return log.attempts.length >= 2 ? log.attempts : null;
    });
    expect(attempts.slice(0, 2).map((a) => a.probe)).toEqual([true, false]);
  });
});

describe('§14 #10 notification timestamps are checked (no replays)', () => {
  it('parser: the same notification replayed 6 minutes later is stale', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const n = await delivered(`/c/${no}`);
    const base = { headers: headersOf(n), body: n.body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key };
    expect(parseNotification(base).ok).toBe(true);
    expect(parseNotification({ ...base, now: Date.now() + 6 * 60_000 })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });

  it('simulator: every attempt carries a fresh timestamp, nonce and signature', async () => {
    const { no, codeUrl } = await order();
    answers.set(`/c/${no}`, 500);
    await control.pay({ code_url: codeUrl });
    const got = await eventually(() => {
      const list = receiver.received.filter((r) => r.path === `/c/${no}`);
      return list.length >= 3 ? list : null;
    });
    answers.set(`/c/${no}`, 204);
    expect(new Set(got.map((g) => g.headers['wechatpay-nonce'])).size).toBe(got.length);
    expect(new Set(got.map((g) => g.body)).size).toBe(1);
  });
});

describe('§14 #11 AES-GCM: associated_data as given, 12-byte nonce, tag checked', () => {
  it('parser: decrypts payment (AAD transaction) and refund (AAD refund) resources, refuses a tampered tag', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const pay = await delivered(`/c/${no}`);
    const envelope = JSON.parse(pay.body);
    expect(envelope.resource).toMatchObject({ associated_data: 'transaction', nonce: expect.stringMatching(/^[0-9A-Za-z]{12}$/) });
    const parsed = parseNotification({ headers: headersOf(pay), body: pay.body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key });
    expect(parsed.ok && parseTransactionResource(parsed.resource).success).toBe(true);

    const outRefundNo = unique('CR');
    await client().createRefund({
      out_trade_no: no,
      out_refund_no: outRefundNo,
      notify_url: `${receiver.url}/r/${outRefundNo}`,
      amount: { refund: 1, total: 100, currency: 'CNY' },
    });
    const refund = await delivered(`/r/${outRefundNo}`);
    expect(JSON.parse(refund.body).resource).toMatchObject({ associated_data: 'refund', original_type: 'refund' });
    const parsedRefund = parseNotification({ headers: headersOf(refund), body: refund.body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key });
    expect(parsedRefund.ok).toBe(true);

    // Flip one bit of the tag and re-sign the envelope as WeChat would: only the GCM tag check can catch it.
    const tampered = JSON.parse(refund.body);
    const bytes = Buffer.from(tampered.resource.ciphertext, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    tampered.resource.ciphertext = bytes.toString('base64');
    const body = JSON.stringify(tampered);
    const ts = unixSeconds();
    const nonce = 'a'.repeat(32);
    const signature = signMessage(loadPrivateKey(creds.wechatpayPublicKey.privateKeyPem), responseMessage(ts, nonce, body));
    const headers = new Headers({
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': creds.wechatpayPublicKey.id,
    });
    expect(parseNotification({ headers, body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key })).toMatchObject({
      ok: false,
      reason: 'decrypt_failed',
    });
  });
});

describe('§14 #12 the HTTP status decides: any 2xx ends the retries, anything else is retried', () => {
  it('simulator: 200 and 202 count as delivered, once; a 401 is retried until a 2xx', async () => {
    for (const [status, expected] of [
      [200, 1],
      [202, 1],
    ] as const) {
      const { no, codeUrl } = await order();
      answers.set(`/c/${no}`, status);
      await control.pay({ code_url: codeUrl });
      await eventually(async () => (await control.notifications(no)).notifications[0]?.status === 'delivered');
      await new Promise((r) => setTimeout(r, 100));
      expect(receiver.received.filter((r) => r.path === `/c/${no}`)).toHaveLength(expected);
    }
    const { no, codeUrl } = await order();
    answers.set(`/c/${no}`, 401);
    await control.pay({ code_url: codeUrl });
    await eventually(() => receiver.received.filter((r) => r.path === `/c/${no}`).length >= 2);
    answers.set(`/c/${no}`, 204);
    await eventually(async () => (await control.notifications(no)).notifications[0]?.status === 'delivered');
  });
});

describe('§14 #13 notifications alone are not enough: the query tells the truth', () => {
  it('with every notification dropped, an active query still finds the payment', async () => {
    const { no, codeUrl } = await order();
    await control.setFaults({ notifyDropRate: 1 });
    await control.pay({ code_url: codeUrl });
    expect((await client().queryByOutTradeNo(no)).trade_state).toBe('SUCCESS');
    expect(receiver.received.filter((r) => r.path === `/c/${no}`)).toHaveLength(0);
  });
});

describe('§14 #14 a NOTPAY answer is partial; REFUND is not "failed"', () => {
  it('client schema: a NOTPAY answer without transaction_id/payer/success_time parses; REFUND is a known state', async () => {
    const { no } = await order();
    const t = await client().queryByOutTradeNo(no);
    expect(t.trade_state).toBe('NOTPAY');
    expect(t.transaction_id).toBeUndefined();
    expect(Transaction.safeParse({ out_trade_no: 'X', trade_state: 'REFUND' }).success).toBe(true);
  });

  it('simulator: the NOTPAY answer has no transaction_id, payer, success_time or payer_total', async () => {
    const { no } = await order();
    const r = await raw('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${creds.mchid}`);
    for (const key of ['transaction_id', 'payer', 'success_time', 'bank_type']) expect(r.json).not.toHaveProperty(key);
    expect(r.json.amount).not.toHaveProperty('payer_total');
  });
});

describe('§14 #15 refund status is `status` in the API and `refund_status` in notifications', () => {
  it('client and parser read each from its own field; the simulator writes each in its own place', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const outRefundNo = unique('CR');
    const created = await client().createRefund({
      out_trade_no: no,
      out_refund_no: outRefundNo,
      notify_url: `${receiver.url}/r/${outRefundNo}`,
      amount: { refund: 100, total: 100, currency: 'CNY' },
    });
    expect(created).toHaveProperty('status');
    expect(created).not.toHaveProperty('refund_status');
    const n = await delivered(`/r/${outRefundNo}`);
    const parsed = parseNotification({ headers: headersOf(n), body: n.body, verifier: simulatorVerifier(creds), apiv3Key: creds.apiv3Key });
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parseRefundResource(parsed.resource).data?.refund_status).toBe('SUCCESS');
    expect(parsed.resource).not.toHaveProperty('status');
    // A "resource" with status but no refund_status is not a refund notification.
    expect(parseRefundResource({ out_refund_no: 'X', status: 'SUCCESS' }).success).toBe(false);
  });
});

describe('§14 #16 amounts are integer fen; a refund names the original total', () => {
  it('client: refuses fractional and string amounts before sending', async () => {
    const bad = [
      { total: 12.5, currency: 'CNY' },
      { total: '100', currency: 'CNY' },
    ];
    for (const amount of bad) {
      const err = await client()
        .nativePrepay({ description: 'x', out_trade_no: unique(), notify_url: `${receiver.url}/c/x`, amount: amount as never })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WechatPayRequestError);
    }
    expect(captured).toHaveLength(0);
  });

  it('simulator: refuses fractional/string amounts and a refund whose total is not the order total', async () => {
    for (const amount of [
      { total: 12.5, currency: 'CNY' },
      { total: '100', currency: 'CNY' },
    ]) {
      expect((await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique(), { amount })))).json.code).toBe('PARAM_ERROR');
    }
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    const r = await raw(
      'POST',
      '/v3/refund/domestic/refunds',
      JSON.stringify({ out_trade_no: no, out_refund_no: unique('CR'), amount: { refund: 10, total: 90, currency: 'CNY' } }),
    );
    expect(r.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/amount/total' } });
  });
});

describe('§14 #17 identifiers and parameters are reused exactly on retries', () => {
  it('client: retries (through 500s) resend the identical body, so one out_refund_no stays one refund', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    await control.setFaults({ apiErrorRate: 0.6 });
    const outRefundNo = unique('CR');
    await client({ retries: 15 }).createRefund({ out_trade_no: no, out_refund_no: outRefundNo, amount: { refund: 50, total: 100, currency: 'CNY' } });
    await control.setFaults({});
    const bodies = new Set(captured.map((c) => c.body));
    expect(bodies.size).toBe(1);
    expect((await control.order(no)).refunds).toHaveLength(1);
  });

  it('simulator: changed parameters are OUT_TRADE_NO_USED, a closed order is ORDER_CLOSED, a new out_refund_no is a new refund', async () => {
    const { no } = await order();
    expect((await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(no, { amount: { total: 101, currency: 'CNY' } })))).json.code).toBe(
      'OUT_TRADE_NO_USED',
    );
    await raw('POST', `/v3/pay/transactions/out-trade-no/${no}/close`, JSON.stringify({ mchid: creds.mchid }));
    expect((await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(no)))).json.code).toBe('ORDER_CLOSED');

    const paid = await order();
    await control.pay({ code_url: paid.codeUrl });
    for (let i = 0; i < 2; i++) {
      // A retry a minute later (WeChat refuses a second refund of one order within a minute: FREQUENCY_LIMITED).
      if (i > 0) await control.advanceClock(60_000);
      // The mistake: a fresh out_refund_no per "retry" — WeChat refunds twice.
      const r = await raw(
        'POST',
        '/v3/refund/domestic/refunds',
        JSON.stringify({ out_trade_no: paid.no, out_refund_no: unique('CR'), amount: { refund: 50, total: 100, currency: 'CNY' } }),
      );
      expect(r.status).toBe(200);
    }
    expect((await control.order(paid.no)).refunds).toHaveLength(2);
  });
});

describe('§14 #18 notify_url has no query string', () => {
  it('client refuses it before sending; the simulator refuses it too', async () => {
    const err = await client()
      .nativePrepay({ description: 'x', out_trade_no: unique(), notify_url: `${receiver.url}/c/x?order=1`, amount: { total: 1, currency: 'CNY' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WechatPayRequestError);
    expect(captured).toHaveLength(0);
    const r = await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique(), { notify_url: `${receiver.url}/c/x?order=1` })));
    expect(r.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/notify_url' } });
  });
});

describe('§14 #19 bill downloads are unsigned and hashed uncompressed', () => {
  it('client downloads and verifies by SHA-1; the simulator serves the file without any Wechatpay-* header', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    await control.backdate(no, 3);
    const day = (await client().queryByOutTradeNo(no)).success_time!.slice(0, 10);
    const applied = await client().applyTradeBill({ bill_date: day, tar_type: 'GZIP' });
    const file = await client().downloadBill(applied);
    expect(parseTradeBill(file).rows.some((r) => r.outTradeNo === no)).toBe(true);

    const target = new URL(applied.download_url);
    const res = await raw('GET', target.pathname + target.search);
    expect(res.headers.get('wechatpay-signature')).toBeNull();
    expect(res.headers.get('request-id')).toMatch(/-0$/);
    const unsigned = await fetch(applied.download_url);
    expect(unsigned.status).toBe(401); // the answer is unsigned, the request still must be signed
    const gz = Buffer.from(
      await (
        await fetch(applied.download_url, {
          headers: (() => {
            const ts = unixSeconds();
            const nonce = randomNonce();
            const sig = signMessage(merchantKey(), requestMessage('GET', target.pathname + target.search, ts, nonce, ''));
            return {
              Authorization: formatAuthorization({ mchid: creds.mchid, nonce_str: nonce, timestamp: ts, serial_no: creds.merchant.serial, signature: sig }),
              Accept: '*/*',
              'User-Agent': 't',
            };
          })(),
        })
      ).arrayBuffer(),
    );
    expect(createHash('sha1').update(gunzipSync(gz)).digest('hex')).toBe(applied.hash_value);
    expect(createHash('sha1').update(gz).digest('hex')).not.toBe(applied.hash_value);
  });

  it('simulator: today is STATEMENT_CREATING, a quiet day NO_STATEMENT_EXIST, the future and >3 months PARAM_ERROR', async () => {
    const day = (offsetDays: number) => new Date(Date.now() + 8 * 3600_000 + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const codes = async (bill_date: string) =>
      (await client()
        .applyTradeBill({ bill_date })
        .catch((e: WechatPayApiError) => e)) as WechatPayApiError;
    expect(await codes(day(0))).toMatchObject({ httpStatus: 400, code: 'STATEMENT_CREATING' });
    expect(await codes(day(-80))).toMatchObject({ httpStatus: 400, code: 'NO_STATEMENT_EXIST' });
    expect(await codes(day(1))).toMatchObject({ code: 'PARAM_ERROR' });
    expect(await codes(day(-100))).toMatchObject({ code: 'PARAM_ERROR' });
  });

  it('simulator: an expired download link is refused', async () => {
    const { no, codeUrl } = await order();
    await control.pay({ code_url: codeUrl });
    await control.backdate(no, 3);
    const day = (await client().queryByOutTradeNo(no)).success_time!.slice(0, 10);
    const applied = await client().applyTradeBill({ bill_date: day });
    const { default: postgres } = await import('postgres');
    const sql = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await sql`update wechatpay_sim.bill_downloads set expires_at = now() - interval '1 second' where token = ${new URL(applied.download_url).searchParams.get('token')}`;
    } finally {
      await sql.end();
    }
    expect(
      await client()
        .downloadBill(applied)
        .catch((e: unknown) => e),
    ).toMatchObject({ httpStatus: 400, code: 'INVALID_REQUEST' });
  });
});

describe('§14 #20 Accept and User-Agent, no null, no 4-byte UTF-8', () => {
  it('client: sends Accept and User-Agent; refuses null and emoji before sending', async () => {
    const { no } = await order();
    await client().queryByOutTradeNo(no);
    expect(captured[0]!.headers.get('accept')).toBe('application/json');
    expect(captured[0]!.headers.get('user-agent')).toBeTruthy();
    captured = [];
    for (const params of [{ attach: null }, { description: '咖啡 ☕ 和蛋糕 🍰' }]) {
      const err = await client()
        .nativePrepay({
          description: 'x',
          out_trade_no: unique(),
          notify_url: `${receiver.url}/c/x`,
          amount: { total: 1, currency: 'CNY' },
          ...(params as object),
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WechatPayRequestError);
    }
    expect(captured).toHaveLength(0);
  });

  it('simulator: refuses a missing Accept or User-Agent, null values and 4-byte characters', async () => {
    const body = JSON.stringify(prepayBody(unique()));
    for (const headers of [{ Accept: '' }, { 'User-Agent': '' }] as Record<string, string>[]) {
      expect((await raw('POST', '/v3/pay/transactions/native', body, { headers })).json).toEqual({
        code: 'INVALID_REQUEST',
        message: 'Http头缺少Accept或User-Agent',
      });
    }
    expect((await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique(), { attach: null })))).json.code).toBe('PARAM_ERROR');
    expect((await raw('POST', '/v3/pay/transactions/native', JSON.stringify(prepayBody(unique(), { description: '蛋糕🍰' })))).json.code).toBe('PARAM_ERROR');
  });
});

describe('§14 #21 the simulator itself: Request-ID, Content-Type, 204 signed over an empty body', () => {
  it('every answer has Request-ID and Content-Type; the 204 signature covers `ts\\nnonce\\n\\n`', async () => {
    const { no } = await order();
    const close = await raw('POST', `/v3/pay/transactions/out-trade-no/${no}/close`, JSON.stringify({ mchid: creds.mchid }));
    expect(close.status).toBe(204);
    expect(close.headers.get('request-id')).toMatch(/^[0-9A-F]{40}-0$/);
    expect(close.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const h = close.headers;
    const key = loadPublicKey(creds.wechatpayPublicKey.publicKeyPem);
    expect(verifyMessage(key, `${h.get('wechatpay-timestamp')}\n${h.get('wechatpay-nonce')}\n\n`, h.get('wechatpay-signature')!)).toBe(true);
    // and the client accepts exactly that
    await client().closeOrder(no);
  });
});
