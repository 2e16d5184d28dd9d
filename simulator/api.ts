// The WeChat Pay API v3 surface the simulator serves, under the real paths. Every answer, errors included,
// is signed (reference §13); routing happens before authentication so unknown paths get a signed 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyRequest } from './auth';
import type { SimContext } from './context';
import { errors, SimApiError } from './errors';
import { bodyError, readRawBody, sendSigned, sendSignedError } from './http';
import * as orders from './orders';
import { closeSchema, parseBody, prepaySchema } from './schemas';

type Route =
  | { kind: 'prepay' }
  | { kind: 'queryByOutTradeNo'; outTradeNo: string }
  | { kind: 'queryById'; transactionId: string }
  | { kind: 'close'; outTradeNo: string };

const ROUTES: { method: string; pattern: RegExp; build: (m: RegExpExecArray) => Route }[] = [
  { method: 'POST', pattern: /^\/v3\/pay\/transactions\/native$/, build: () => ({ kind: 'prepay' }) },
  {
    method: 'GET',
    pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/,
    build: (m) => ({ kind: 'queryByOutTradeNo', outTradeNo: decodeSegment(m[1]) }),
  },
  { method: 'GET', pattern: /^\/v3\/pay\/transactions\/id\/([^/]+)$/, build: (m) => ({ kind: 'queryById', transactionId: decodeSegment(m[1]) }) },
  {
    method: 'POST',
    pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/,
    build: (m) => ({ kind: 'close', outTradeNo: decodeSegment(m[1]) }),
  },
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

export async function handleApi(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    let raw: Buffer;
    try {
      raw = await readRawBody(req);
    } catch (err) {
      throw bodyError(err) ?? err;
    }
    const mchid = verifyRequest(req, raw, ctx.merchant);

    switch (route.kind) {
      case 'prepay': {
        const body = parseBody(raw, prepaySchema);
        if (body.mchid !== mchid) throw errors.mchidMismatch();
        sendSigned(req, res, ctx.keyring, 200, await orders.prepay(ctx, body));
        return;
      }
      case 'queryByOutTradeNo':
        sendSigned(req, res, ctx.keyring, 200, await orders.queryByOutTradeNo(ctx, queryMchid(url, mchid), route.outTradeNo));
        return;
      case 'queryById':
        sendSigned(req, res, ctx.keyring, 200, await orders.queryByTransactionId(ctx, queryMchid(url, mchid), route.transactionId));
        return;
      case 'close': {
        const body = parseBody(raw, closeSchema);
        if (body.mchid !== mchid) throw errors.mchidMismatch();
        await orders.closeByMerchant(ctx, mchid, route.outTradeNo);
        sendSigned(req, res, ctx.keyring, 204, undefined);
        return;
      }
    }
  } catch (err) {
    if (err instanceof SimApiError) {
      sendSignedError(req, res, ctx.keyring, err);
      return;
    }
    ctx.log(`api: ${req.method} ${req.url?.split('?')[0]} failed: ${(err as Error).message}`);
    sendSignedError(req, res, ctx.keyring, errors.system());
  }
}
