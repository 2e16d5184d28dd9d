// Hostile input at checkout.create, over HTTP through the real tRPC router: invalid text is a 400 before
// any SQL (the procedure never runs: not even the rate limit counts it), repeated lines are capped after
// merging, the order total has a ceiling (MAX_ORDER_AMOUNT_FEN), and the client address is the one our
// server or our proxies vouch for (TRUST_PROXY_HOPS), never one the client wrote.
import { eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orders, rateLimits } from '@/db/schema';
import { PEER_IP_HEADER } from '@/server/client-ip';
import { AppError } from '@/server/errors';
import { createOrder, MAX_LINE_QUANTITY } from '@/server/payments/orders';
import { startHarness, trpcCall, type Harness } from '../helpers/app-harness';

// Mug ¥69.00 + envelope ¥0.01: two mugs and one envelope are exactly the limit.
const MAX = 2 * 6900 + 1;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, env: { MAX_ORDER_AMOUNT_FEN: String(MAX), CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000' } });
});
afterAll(async () => {
  await h?.close();
});

let peerCounter = 0;
/** A fresh client address per call, as our server would pass it from the socket. */
const newPeer = () => `192.0.2.${++peerCounter}`;

async function create(items: unknown, headers: Record<string, string> = {}) {
  return trpcCall(h.appUrl, 'checkout.create', { items }, 'mutation', headers);
}

async function rateLimitRows(peer: string) {
  return h.db
    .select()
    .from(rateLimits)
    .where(eq(rateLimits.key, `create:${peer}`));
}

describe('invalid text', () => {
  it.each([
    ['a NUL byte', 'ceramic-mug\u0000', /NUL/],
    ['only a NUL byte', '\u0000', /NUL/],
    ['a lone high surrogate', 'ceramic-mug\ud800', /lone surrogate/],
    ['a lone low surrogate', '\udc00ceramic-mug', /lone surrogate/],
    ['a control character', 'ceramic\u0007mug', /control/],
    ['a C1 control character', 'ceramic\u0085mug', /control/],
    ['a line break', 'ceramic-mug\n', /control/],
    ['a noncharacter', 'ceramic-mug\uffff', /noncharacter/],
  ])('a productId with %s is a 400 BAD_REQUEST naming the field, before any SQL', async (_, productId, message) => {
    const peer = newPeer();
    const res = await create([{ productId, quantity: 1 }], { [PEER_IP_HEADER]: peer });
    expect(res.status).toBe(400);
    expect(res.error.data.code).toBe('BAD_REQUEST');
    expect(res.error.data.zodIssues).toEqual([expect.objectContaining({ path: ['items', 0, 'productId'], message: expect.stringMatching(message) })]);
    // The procedure never ran: not even the rate limit (its first statement) saw the request.
    expect(await rateLimitRows(peer)).toEqual([]);
  });

  it('a well-formed surrogate pair is text like any other (an unknown product, not invalid input)', async () => {
    const res = await create([{ productId: 'mug-🍵', quantity: 1 }], { [PEER_IP_HEADER]: newPeer() });
    expect(res.status).toBe(400);
    expect(res.error.message).toBe('Unknown or unavailable product: mug-🍵');
    expect(res.error.data.zodIssues ?? undefined).toBeUndefined();
  });

  it('a token with a NUL byte is a 400 on every checkout procedure', async () => {
    const token = `${'A'.repeat(42)}\u0000`;
    for (const [path, kind] of [
      ['checkout.status', 'query'],
      ['checkout.renew', 'mutation'],
      ['checkout.check', 'mutation'],
    ] as const) {
      const res = await trpcCall(h.appUrl, path, { token }, kind);
      expect(res.status, path).toBe(400);
      expect(res.error.data.code, path).toBe('BAD_REQUEST');
    }
  });

  it('createOrder itself refuses invalid text with a BAD_REQUEST AppError (callers other than tRPC)', async () => {
    const err = await createOrder(h.db, { items: [{ productId: 'x\u0000', quantity: 1 }], expireMinutes: 15, scale: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/items\.0\.productId: must not contain NUL bytes/) });
  });
});

describe('repeated cart lines', () => {
  it('twenty lines of 99 of one product are refused: the cap holds for the merged line', async () => {
    const peer = newPeer();
    const res = await create(
      Array.from({ length: 20 }, () => ({ productId: 'red-envelope', quantity: 99 })),
      { [PEER_IP_HEADER]: peer },
    );
    expect(res.status).toBe(400);
    expect(res.error.data.code).toBe('BAD_REQUEST');
    expect(res.error.data.zodIssues).toEqual([
      { path: ['items', 0, 'quantity'], message: `at most ${MAX_LINE_QUANTITY} of one product per order: the lines for red-envelope add up to 1980` },
    ]);
    expect(await rateLimitRows(peer)).toEqual([]);
  });

  it('two lines adding up to 100 are refused, two adding up to 99 make one line of 99', async () => {
    const over = await create(
      [
        { productId: 'red-envelope', quantity: 50 },
        { productId: 'red-envelope', quantity: 50 },
      ],
      { [PEER_IP_HEADER]: newPeer() },
    );
    expect(over.status).toBe(400);
    expect(over.error.data.zodIssues[0].message).toMatch(/add up to 100/);

    const created = await createOrder(h.db, {
      items: [
        { productId: 'red-envelope', quantity: 50 },
        { productId: 'red-envelope', quantity: 49 },
      ],
      expireMinutes: 15,
      scale: 1,
    });
    expect(created.amountFen).toBe(99);
  });
});

describe('order total ceiling (MAX_ORDER_AMOUNT_FEN)', () => {
  it('an order of exactly the limit is taken; one fen more is a 400 saying the limit, and nothing is written', async () => {
    const peer = newPeer();
    const at = await create(
      [
        { productId: 'ceramic-mug', quantity: 2 },
        { productId: 'red-envelope', quantity: 1 },
      ],
      { [PEER_IP_HEADER]: peer },
    );
    expect(at.status, JSON.stringify(at.error)).toBe(200);

    const overPeer = newPeer();
    const over = await create(
      [
        { productId: 'ceramic-mug', quantity: 2 },
        { productId: 'red-envelope', quantity: 2 },
      ],
      { [PEER_IP_HEADER]: overPeer },
    );
    expect(over.status).toBe(400);
    expect(over.error.data.code).toBe('BAD_REQUEST');
    expect(over.error.message).toBe("The order total ¥138.02 is above this shop's limit of ¥138.01 per order");
    expect(await h.db.select().from(orders).where(eq(orders.clientIp, overPeer))).toEqual([]);
  });

  it('callers can pass their own ceiling', async () => {
    const err = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1, maxAmountFen: 6899 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BAD_REQUEST', message: "The order total ¥69.00 is above this shop's limit of ¥68.99 per order" });
  });
});

describe('client address (TRUST_PROXY_HOPS)', () => {
  // The running app reads its configuration from the dependencies its boot built: set the hops there,
  // as TRUST_PROXY_HOPS would at start-up.
  const withHops = (hops: string) => {
    h.deps.env.TRUST_PROXY_HOPS = Number(hops);
  };
  afterAll(() => withHops('0'));

  async function orderIpOf(headers: Record<string, string>) {
    const res = await create([{ productId: 'red-envelope', quantity: 1 }], headers);
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    const [order] = await h.db.select({ clientIp: orders.clientIp }).from(orders).where(eq(orders.token, res.data.token));
    return order?.clientIp;
  }

  it('with 0 hops: the peer address our server passes; X-Forwarded-For and X-Real-IP from the client are ignored', async () => {
    withHops('0');
    expect(await orderIpOf({ [PEER_IP_HEADER]: '198.51.100.10', 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.7' })).toBe('198.51.100.10');
    // The rate limit counts the peer, so a forged header does not buy a fresh window.
    expect(await h.db.select().from(rateLimits).where(like(rateLimits.key, 'create:6.6.6.%'))).toEqual([]);
    expect(await rateLimitRows('198.51.100.10')).toHaveLength(1);
  });

  it('with 2 hops: the second X-Forwarded-For address from the right, whatever the client put before it', async () => {
    withHops('2');
    expect(await orderIpOf({ [PEER_IP_HEADER]: '10.0.0.3', 'x-forwarded-for': '6.6.6.6, 203.0.113.77, 10.0.0.2' })).toBe('203.0.113.77');
    // Fewer entries than proxies: the peer address, not a client-written one.
    expect(await orderIpOf({ [PEER_IP_HEADER]: '10.0.0.3', 'x-forwarded-for': '10.0.0.2' })).toBe('10.0.0.3');
  });
});
