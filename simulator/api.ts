// The WeChat Pay API v3 surface the simulator serves, under the real paths. Every answer, errors included,
// is signed (reference §13) except bill files (§8.3); routing happens before authentication so unknown
// paths get a signed 404. API faults (latency, 500s, hangs, probe signatures, key mode) are applied here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { verifyRequest } from './auth';
import * as bills from './bills';
import { certificatesResponse } from './certificates';
import type { SimContext } from './context';
import { errors, SimApiError } from './errors';
import { chance, either, pick, TIMEOUT_AFTER_WORK_RATE, type Faults } from './faults';
import { bodyError, readRawBody, responseSigner, sendBillFile, sendSigned, sendSignedError } from './http';
import * as orders from './orders';
import * as refunds from './refunds';
import { abnormalRefundSchema, closeSchema, parseBody, prepaySchema, refundSchema } from './schemas';

type Route =
  | { kind: 'prepay' }
  | { kind: 'queryByOutTradeNo'; outTradeNo: string }
  | { kind: 'queryById'; transactionId: string }
  | { kind: 'close'; outTradeNo: string }
  | { kind: 'refund' }
  | { kind: 'queryRefund'; outRefundNo: string }
  | { kind: 'abnormalRefund'; refundId: string }
  | { kind: 'tradeBill' }
  | { kind: 'fundFlowBill' }
  | { kind: 'billDownload' }
  | { kind: 'certificates' };

const ROUTES: { method: string; pattern: RegExp; build: (m: RegExpExecArray) => Route }[] = [
  { method: 'POST', pattern: /^\/v3\/pay\/transactions\/native$/, build: () => ({ kind: 'prepay' }) },
  {
    method: 'GET',
    pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/,
    build: (m) => ({ kind: 'queryByOutTradeNo', outTradeNo: decodeSegment(m[1]!) }),
  },
  { method: 'GET', pattern: /^\/v3\/pay\/transactions\/id\/([^/]+)$/, build: (m) => ({ kind: 'queryById', transactionId: decodeSegment(m[1]!) }) },
  {
    method: 'POST',
    pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/,
    build: (m) => ({ kind: 'close', outTradeNo: decodeSegment(m[1]!) }),
  },
  { method: 'POST', pattern: /^\/v3\/refund\/domestic\/refunds$/, build: () => ({ kind: 'refund' }) },
  {
    method: 'GET',
    pattern: /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/,
    build: (m) => ({ kind: 'queryRefund', outRefundNo: decodeSegment(m[1]!) }),
  },
  {
    method: 'POST',
    pattern: /^\/v3\/refund\/domestic\/refunds\/([^/]+)\/apply-abnormal-refund$/,
    build: (m) => ({ kind: 'abnormalRefund', refundId: decodeSegment(m[1]!) }),
  },
  { method: 'GET', pattern: /^\/v3\/bill\/tradebill$/, build: () => ({ kind: 'tradeBill' }) },
  { method: 'GET', pattern: /^\/v3\/bill\/fundflowbill$/, build: () => ({ kind: 'fundFlowBill' }) },
  { method: 'GET', pattern: /^\/v3\/billdownload\/file$/, build: () => ({ kind: 'billDownload' }) },
  { method: 'GET', pattern: /^\/v3\/certificates$/, build: () => ({ kind: 'certificates' }) },
];

/** Clients encode `*` and `|` differently (reference §4); all decode to the same out_trade_no. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.param('参数错误：路径参数编码错误', { location: 'path', issue: 'malformed percent-encoding' });
  }
}

function matchRoute(method: string, pathname: string): Route {
  let pathMatched = false;
  for (const route of ROUTES) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    pathMatched = true;
    if (route.method === method) return route.build(m);
  }
  throw pathMatched ? errors.methodNotAllowed() : errors.notFound();
}

/** `mchid` is a required query parameter and must name the caller (reference §4). */
function queryMchid(url: URL, headerMchid: string): string {
  const mchid = url.searchParams.get('mchid');
  if (!mchid) throw errors.param('参数错误：缺少mchid', { field: 'mchid', issue: 'mchid is required', location: 'query' });
  if (mchid !== headerMchid) throw errors.mchidMismatch();
  return mchid;
}

/** Query parameters against a strict schema; a repeated parameter is ambiguous and refused. */
function parseQuery<T>(url: URL, schema: z.ZodType<T>): T {
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in params) throw errors.param(`参数错误：重复的参数${key}`, { field: key, issue: 'repeated parameter', location: 'query' });
    params[key] = value;
  }
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw errors.param('参数错误', { location: 'query' });
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.map(String).join('.');
  throw errors.param(`参数错误：${issue.message}`, { field, issue: issue.message, location: 'query' });
}

type Answer = { status: number; payload?: unknown } | { file: Buffer; gzip: boolean };

/** Authenticates and performs one call. Pure with respect to the response: the caller decides whether to send it. */
async function perform(ctx: SimContext, req: IncomingMessage, url: URL, route: Route, raw: Buffer, faults: Faults): Promise<Answer> {
  const mchid = verifyRequest(req, raw, ctx.merchant);
  switch (route.kind) {
    case 'prepay': {
      const body = parseBody(raw, prepaySchema);
      if (body.mchid !== mchid) throw errors.mchidMismatch();
      return { status: 200, payload: await orders.prepay(ctx, body) };
    }
    case 'queryByOutTradeNo':
      return { status: 200, payload: await orders.queryByOutTradeNo(ctx, queryMchid(url, mchid), route.outTradeNo) };
    case 'queryById':
      return { status: 200, payload: await orders.queryByTransactionId(ctx, queryMchid(url, mchid), route.transactionId) };
    case 'close': {
      const body = parseBody(raw, closeSchema);
      if (body.mchid !== mchid) throw errors.mchidMismatch();
      await orders.closeByMerchant(ctx, mchid, route.outTradeNo);
      return { status: 204 };
    }
    case 'refund': {
      const answer = await refunds.createRefund(ctx, mchid, parseBody(raw, refundSchema));
      ctx.notifier.wake();
      return { status: 200, payload: answer };
    }
    case 'queryRefund': {
      const answer = await refunds.queryRefund(ctx, mchid, route.outRefundNo);
      ctx.notifier.wake();
      return { status: 200, payload: answer };
    }
    case 'abnormalRefund': {
      const serial = req.headers['wechatpay-serial'];
      const answer = await refunds.applyAbnormalRefund(ctx, mchid, route.refundId, parseBody(raw, abnormalRefundSchema), {
        serial: Array.isArray(serial) ? serial[0] : serial,
        bySerial: {
          [ctx.keyring.publicKey.serial]: ctx.keyring.publicKey.key,
          [ctx.keyring.platformCertificate.serial]: ctx.keyring.platformCertificate.key,
        },
      });
      ctx.notifier.wake();
      return { status: 200, payload: answer };
    }
    case 'tradeBill':
      return { status: 200, payload: await bills.applyTradeBill(ctx, mchid, parseQuery(url, bills.tradeBillQuery), origin(req)) };
    case 'fundFlowBill':
      return { status: 200, payload: await bills.applyFundFlowBill(ctx, mchid, parseQuery(url, bills.fundFlowBillQuery), origin(req)) };
    case 'billDownload': {
      const token = url.searchParams.get('token');
      if (!token) throw errors.param('参数错误：缺少token', { field: 'token', issue: 'token is required', location: 'query' });
      const bill = await bills.download(ctx, mchid, token);
      return { file: bill.content, gzip: bill.gzip };
    }
    case 'certificates': {
      const algorithm = url.searchParams.get('algorithm_type');
      if (algorithm !== null && algorithm !== 'RSA') {
        throw errors.param('参数错误：algorithm_type', { field: 'algorithm_type', issue: 'only RSA is supported', location: 'query' });
      }
      return { status: 200, payload: certificatesResponse(ctx.credentials, faults.keyMode) };
    }
  }
}

/** The simulator's own origin as the client reached it: bill download URLs point back here. */
function origin(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

/** Refund calls have fault rates of their own on top of the API-wide ones (chaos tests aim at refunds). */
function isRefundCall(route: Route): boolean {
  return route.kind === 'refund' || route.kind === 'abnormalRefund';
}

export async function handleApi(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [faults] = await Promise.all([ctx.faults.get(), ctx.clock.refresh()]);
  const signing = responseSigner(req, ctx.keyring, faults);
  try {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    let raw: Buffer;
    try {
      raw = await readRawBody(req);
    } catch (err) {
      throw bodyError(err) ?? err;
    }

    const latency = pick(faults.apiLatencyMs);
    if (latency > 0) await sleep(latency);
    const refundCall = isRefundCall(route);
    if (chance(refundCall ? either(faults.apiTimeoutRate, faults.refundTimeoutRate) : faults.apiTimeoutRate)) {
      // Some timeouts strike after the work is done (TIMEOUT_AFTER_WORK_RATE): the client cannot tell which.
      if (chance(TIMEOUT_AFTER_WORK_RATE)) await perform(ctx, req, url, route, raw, faults).catch(() => {});
      ctx.hold(res);
      return;
    }
    // An injected 500 happens before anything is done: retrying with the same parameters is always safe.
    if (chance(refundCall ? either(faults.apiErrorRate, faults.refundErrorRate) : faults.apiErrorRate)) throw errors.system();

    const answer = await perform(ctx, req, url, route, raw, faults);
    if ('file' in answer) sendBillFile(res, answer.file, answer.gzip);
    else sendSigned(res, signing, answer.status, answer.payload);
  } catch (err) {
    if (err instanceof SimApiError) {
      sendSignedError(res, signing, err);
      return;
    }
    ctx.log(`api: ${req.method} ${req.url?.split('?')[0]} failed: ${(err as Error).message}`);
    sendSignedError(res, signing, errors.system());
  }
}
