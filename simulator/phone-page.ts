// The "phone": what a shopper sees after scanning the QR code in WeChat. One self-contained page (inline CSS,
// no script) shaped like WeChat's payment sheet, with Pay, "insufficient balance" (余额不足: the payment fails
// visibly and nothing is paid) and Cancel in a plain form, so it works in any browser and in Playwright alike.
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

// Styled after WeChat's own payment sheet: grey page, the amount large and centred, payee and payment method
// as list rows, one wide green button, everything else secondary.
const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:#ededed;font:16px/1.5 -apple-system,BlinkMacSystemFont,"PingFang SC","Microsoft YaHei",sans-serif;color:#111;display:flex;justify-content:center}
main{width:100%;max-width:420px;min-height:100vh;display:flex;flex-direction:column}
.bar{display:flex;align-items:center;justify-content:center;position:relative;height:48px;font-size:17px;font-weight:600}
.bar .close{position:absolute;left:16px;color:#111;text-decoration:none;font-size:22px;font-weight:400}
.top{text-align:center;padding:24px 16px 32px}
.payee{margin:0;color:#111;font-size:16px;word-break:break-word}
.desc{margin:4px 0 0;color:#888;font-size:14px;word-break:break-word}
.amount{margin:16px 0 0;font-size:44px;font-weight:600;letter-spacing:.5px;overflow-wrap:anywhere}
.sheet{margin-top:auto;background:#fff;border-radius:12px 12px 0 0;padding:8px 16px 24px}
.row{display:flex;justify-content:space-between;gap:16px;padding:14px 0;border-bottom:1px solid #eee;font-size:15px}
.row span:first-child{color:#888;flex:none}
.row span:last-child{text-align:right;word-break:break-all}
.mono{font-family:ui-monospace,Menlo,monospace;font-size:13px}
button,.button{display:block;width:100%;padding:12px;margin:16px 0 0;border:0;border-radius:8px;font-size:17px;font-weight:600;cursor:pointer;text-decoration:none;text-align:center}
.pay{background:#07c160;color:#fff}
.secondary{display:flex;gap:12px}
.secondary button,.button{background:#f2f2f2;color:#576b95;font-weight:500;font-size:15px;margin-top:12px}
.card{background:#fff;border-radius:12px;margin:16px;padding:24px 16px;text-align:center}
.en{display:block;color:#888;font-size:.8em;font-weight:400}
h1{margin:0 0 4px;font-size:18px;font-weight:600}
.status{font-size:48px;margin:0 0 8px}
.ok{color:#07c160}.bad{color:#fa5151}
.note{margin:8px 0 0;color:#555;font-size:14px}
.sim{margin:16px 0;text-align:center;color:#999;font-size:12px}
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
<header class="bar"><span>微信支付 <span lang="en" class="en" style="display:inline">WeChat Pay</span></span></header>
${body}
<p class="sim">支付模拟器 <span lang="en">· WeChat Pay simulator, no real money moves</span></p>
</main>
</body>
</html>`;
}

function amountHtml(fen: number): string {
  return `<p class="amount" data-testid="amount">${formatYuan(fen)}</p>`;
}

function orderSummary(ctx: SimContext, order: OrderRow): string {
  return `<p class="payee" data-testid="merchant">${escapeHtml(ctx.merchantName)}</p>
<p class="desc">${escapeHtml(order.description)}</p>
${amountHtml(order.amount_total)}`;
}

function checkoutPage(ctx: SimContext, order: OrderRow): string {
  return page(
    `确认付款 Confirm payment · ${ctx.merchantName}`,
    `<section class="top">
${orderSummary(ctx, order)}
</section>
<section class="sheet" aria-label="付款 Payment">
<div class="row"><span>收款方 <span lang="en">Payee</span></span><span>${escapeHtml(ctx.merchantName)}</span></div>
<div class="row"><span>付款方式 <span lang="en">Pay with</span></span><span>零钱 <span lang="en">Balance</span> ›</span></div>
<div class="row"><span>商户订单号 <span lang="en">Order number</span></span><span class="mono" data-testid="out-trade-no">${escapeHtml(order.out_trade_no)}</span></div>
<form method="post" action="/pay">
<input type="hidden" name="code_url" value="${escapeHtml(order.code_url)}">
<button type="submit" name="action" value="pay" class="pay">立即支付 <span lang="en">Pay</span></button>
<div class="secondary">
<button type="submit" name="action" value="insufficient">余额不足 <span lang="en">Insufficient balance</span></button>
<button type="submit" name="action" value="cancel" class="cancel">取消 <span lang="en">Cancel</span></button>
</div>
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

    if (form.get('action') === 'insufficient') {
      // The shopper's balance does not cover it: WeChat refuses on the phone and the merchant hears nothing.
      const order = await orders.pay(ctx, { codeUrl }, { outcome: 'INSUFFICIENT_BALANCE' }).catch((err: unknown) => {
        if (err instanceof SimApiError) return null;
        throw err;
      });
      if (!order) return sendProblem(res, problemFor(await orders.findByCodeUrl(ctx, codeUrl)) ?? PROBLEMS.invalid);
      sendHtml(
        res,
        402,
        resultPage(
          'bad',
          '支付失败',
          'Payment failed',
          `<p class="note">零钱余额不足，请更换付款方式 <span class="en" lang="en">Insufficient balance — choose another way to pay</span></p>`,
          codeUrl,
        ),
      );
      return;
    }
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
