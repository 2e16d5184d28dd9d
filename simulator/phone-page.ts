// The "phone": what a shopper sees after scanning the QR code in WeChat. One self-contained page (inline CSS,
// no script) with Pay and Cancel buttons in a plain form, so it works in any browser and in Playwright alike.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from './context';
import { SimApiError } from './errors';
import { bodyError, readRawBody, sendHtml } from './http';
import * as orders from './orders';
import type { OrderRow } from './store';

export function formatYuan(fen: number): string {
  return `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:#ededed;font:16px/1.5 -apple-system,BlinkMacSystemFont,"PingFang SC","Microsoft YaHei",sans-serif;color:#111;display:flex;justify-content:center}
main{width:100%;max-width:420px;padding:16px}
.brand{margin:0 0 12px;color:#07c160;font-weight:600;font-size:14px}
.card{background:#fff;border-radius:12px;padding:24px 16px;text-align:center}
.en{display:block;color:#888;font-size:.8em;font-weight:400}
h1,h2{margin:0 0 4px;font-size:18px;font-weight:600}
.desc{margin:0 0 16px;color:#555;word-break:break-word}
.amount{margin:8px 0 20px;font-size:36px;font-weight:600;overflow-wrap:anywhere}
dl{margin:0 0 24px;text-align:left;font-size:14px;border-top:1px solid #eee;padding-top:12px}
dt{color:#888}dd{margin:0 0 8px;word-break:break-all;font-family:ui-monospace,Menlo,monospace}
button,.button{display:block;width:100%;padding:12px;margin:0 0 12px;border:0;border-radius:8px;font-size:17px;font-weight:600;cursor:pointer;text-decoration:none;text-align:center}
.pay{background:#07c160;color:#fff}
.cancel,.button{background:#f2f2f2;color:#07c160}
.status{font-size:48px;margin:0 0 8px}
.ok{color:#07c160}.bad{color:#fa5151}
.sim{margin:16px 0 0;text-align:center;color:#999;font-size:12px}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand">微信支付 <span lang="en">WeChat Pay</span></p>
${body}
<p class="sim">支付模拟器 <span lang="en">· WeChat Pay simulator, no real money moves</span></p>
</main>
</body>
</html>`;
}

function orderSummary(ctx: SimContext, order: OrderRow): string {
  return `<h2>${escapeHtml(ctx.merchantName)}</h2>
<p class="desc">${escapeHtml(order.description)}</p>
<p class="amount" data-testid="amount">${formatYuan(order.amount_total)}</p>
<dl>
<dt>商户订单号 <span lang="en">Order number</span></dt>
<dd data-testid="out-trade-no">${escapeHtml(order.out_trade_no)}</dd>
</dl>`;
}

function checkoutPage(ctx: SimContext, order: OrderRow): string {
  return page(
    `确认付款 Confirm payment · ${ctx.merchantName}`,
    `<section class="card">
${orderSummary(ctx, order)}
<form method="post" action="/pay">
<input type="hidden" name="code_url" value="${escapeHtml(order.code_url)}">
<button type="submit" name="action" value="pay" class="pay">立即支付 <span lang="en">Pay</span></button>
<button type="submit" name="action" value="cancel" class="cancel">取消 <span lang="en">Cancel</span></button>
</form>
</section>`,
  );
}

function resultPage(kind: 'ok' | 'bad' | 'neutral', zh: string, en: string, detail = '', backTo?: string): string {
  const icon = kind === 'ok' ? '✓' : kind === 'bad' ? '!' : 'i';
  const back = backTo ? `<a class="button" href="/pay?code_url=${encodeURIComponent(backTo)}">返回 <span lang="en">Back</span></a>` : '';
  return page(
    `${zh} ${en}`,
    `<section class="card" role="status">
<p class="status ${kind === 'neutral' ? '' : kind}" aria-hidden="true">${icon}</p>
<h1>${escapeHtml(zh)} <span class="en" lang="en">${escapeHtml(en)}</span></h1>
${detail}
${back}
</section>`,
  );
}

type Problem = { status: number; zh: string; en: string };

const PROBLEMS = {
  invalid: { status: 410, zh: '二维码已失效', en: 'This QR code has expired' },
  expired: { status: 410, zh: '订单已过期', en: 'This order has expired' },
  closed: { status: 410, zh: '订单已关闭', en: 'This order has been closed' },
  paid: { status: 409, zh: '订单已支付', en: 'This order has already been paid' },
  missing: { status: 400, zh: '缺少二维码信息', en: 'No QR code given' },
} satisfies Record<string, Problem>;

function problemFor(order: OrderRow | null): Problem | null {
  if (!order || !orders.isCodeUrlFresh(order, new Date())) return PROBLEMS.invalid;
  if (order.trade_state === 'SUCCESS' || order.trade_state === 'REFUND') return PROBLEMS.paid;
  if (order.trade_state === 'CLOSED') return order.close_reason === 'expired' ? PROBLEMS.expired : PROBLEMS.closed;
  return null;
}

function sendProblem(res: ServerResponse, p: Problem): void {
  sendHtml(res, p.status, resultPage('bad', p.zh, p.en));
}

/** GET /pay?code_url=… shows the order; POST /pay (form: code_url, action=pay|cancel) acts on it. */
export async function handlePhonePage(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (req.method === 'GET' || req.method === 'HEAD') {
      const codeUrl = url.searchParams.get('code_url');
      if (!codeUrl) return sendProblem(res, PROBLEMS.missing);
      const order = await orders.findByCodeUrl(ctx, codeUrl);
      const problem = problemFor(order);
      if (problem) return sendProblem(res, problem);
      sendHtml(res, 200, checkoutPage(ctx, order!));
      return;
    }
    if (req.method !== 'POST') {
      sendHtml(res, 405, resultPage('bad', '不支持的请求', 'Method not allowed'));
      return;
    }

    let form: URLSearchParams;
    try {
      form = new URLSearchParams((await readRawBody(req, 16 * 1024)).toString('utf8'));
    } catch (err) {
      if (bodyError(err)) return sendProblem(res, PROBLEMS.missing);
      throw err;
    }
    const codeUrl = form.get('code_url');
    if (!codeUrl) return sendProblem(res, PROBLEMS.missing);

    if (form.get('action') === 'cancel') {
      // The shopper backs out: WeChat tells the merchant nothing and the order stays NOTPAY.
      sendHtml(res, 200, resultPage('neutral', '已取消支付', 'Payment cancelled', '', codeUrl));
      return;
    }
    if (form.get('action') !== 'pay') {
      sendHtml(res, 400, resultPage('bad', '无效的操作', 'Unknown action'));
      return;
    }
    try {
      const paid = await orders.payByCodeUrl(ctx, codeUrl);
      ctx.notifier.wake();
      sendHtml(res, 200, resultPage('ok', '支付成功', 'Payment successful', orderSummary(ctx, paid)));
    } catch (err) {
      if (!(err instanceof SimApiError)) throw err;
      // Re-read to explain precisely why (paid, closed, expired, stale code).
      sendProblem(res, problemFor(await orders.findByCodeUrl(ctx, codeUrl)) ?? PROBLEMS.invalid);
    }
  } catch (err) {
    ctx.log(`phone page: ${req.method} failed: ${(err as Error).message}`);
    sendHtml(res, 500, resultPage('bad', '系统繁忙，请稍后重试', 'Something went wrong, please try again'));
  }
}
