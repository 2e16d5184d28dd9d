// Refunds through the Payments API: the refund domain's rules reach the caller as one error shape with the
// rule that refused it, and a retried request (same Idempotency-Key) is the same refund at WeChat.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, makeKey } from '../helpers/api';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
let key: string;
let readOnly: string;
beforeAll(async () => {
  h = await startHarness({ worker: true, env: { API_RATE_LIMIT_PER_MINUTE: '100000' } });
  key = (await makeKey(h.db)).secret;
  readOnly = (await makeKey(h.db, ['orders:read'])).secret;
});
afterAll(async () => {
  await h?.close();
});

const uniq = () => `R${Date.now()}${Math.floor(Math.random() * 1e6)}`;
async function paidOrder(amountFen: number) {
  const res = await api('POST', '/orders', { key, body: { merchantOrderNo: uniq(), amountFen, description: 'api refund' } });
  expect(res.status).toBe(201);
  await h.simPay(res.body.codeUrl);
  await eventually(async () => (await api('POST', `/orders/${res.body.id}/sync`, { key })).body.order.status === 'paid');
  return res.body as { id: string };
}

it('refunds part of a paid order, and a retry with the same Idempotency-Key is the same refund', async () => {
  const order = await paidOrder(500);
  const headers = { 'idempotency-key': `refund-${uniq()}` };
  const first = await api('POST', `/orders/${order.id}/refunds`, { key, body: { amountFen: 200, reason: '少发一件' }, headers });
  expect(first.status, JSON.stringify(first.body)).toBe(201);
  expect(first.body).toMatchObject({ orderId: order.id, amountFen: 200, reason: '少发一件', initiatedBy: 'api', outRefundNo: expect.stringMatching(/^RF/) });
  const again = await api('POST', `/orders/${order.id}/refunds`, { key, body: { amountFen: 200, reason: '少发一件' }, headers });
  expect(again.status).toBe(201);
  expect(again.body.id).toBe(first.body.id);
  // WeChat's answer arrives through the worker; the refund reads as WeChat holds it.
  await eventually(async () => (await api('GET', `/refunds/${first.body.id}`, { key: readOnly })).body.status === 'succeeded', 30_000);
  const after = await api('GET', `/orders/${order.id}`, { key: readOnly });
  expect(after.body).toMatchObject({ status: 'partially_refunded', refundedFen: 200 });
});

it('refuses what the refund rules refuse, naming the rule; and a key without refunds:write', async () => {
  const order = await paidOrder(300);
  const tooMuch = await api('POST', `/orders/${order.id}/refunds`, { key, body: { amountFen: 301 } });
  expect(tooMuch.status).toBe(400);
  expect(tooMuch.body.error).toMatchObject({ code: 'invalid_request', details: { rule: 'EXCEEDS_REFUNDABLE' } });
  const unpaid = await api('POST', '/orders', { key, body: { merchantOrderNo: uniq(), amountFen: 100, description: 'unpaid' } });
  const notPaid = await api('POST', `/orders/${unpaid.body.id}/refunds`, { key, body: { amountFen: 100 } });
  expect(notPaid.status).toBe(400);
  expect(notPaid.body.error.details.rule).toBe('ORDER_NOT_REFUNDABLE');
  const denied = await api('POST', `/orders/${order.id}/refunds`, { key: readOnly, body: { amountFen: 1 } });
  expect(denied.status).toBe(403);
});
