// Checkout: `checkout.create` latency (order + attempt + jobs committed, then WeChat's native prepay at the
// simulator) with the simulator's API latency at 0 and at 100 ms; then the checkout page: time to first
// byte and to the QR code's bytes over plain HTTP, and in Chromium the time to a rendered QR code.
import { chromium } from '@playwright/test';
import { sizes } from '../lib/config';
import type { Ctx } from '../lib/harness';
import { nowMs, summarize, type LatencySummary } from '../lib/stats';

export interface CheckoutResult {
  create: { latencyMs: number; summary: LatencySummary; failures: number }[];
  page: { ttfb: LatencySummary; qrBytes: LatencySummary; full: LatencySummary; qrInFirstHtml: boolean; samples: number };
  browser: { ttfb: LatencySummary; qrRendered: LatencySummary; samples: number } | { error: string };
}

async function setApiLatency(simUrl: string, ms: number): Promise<void> {
  const res = await fetch(`${simUrl}/_sim/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ms ? { apiLatencyMs: [ms, ms] } : {}),
  });
  if (!res.ok) throw new Error(`PUT /_sim/faults answered ${res.status}: ${await res.text()} (is the simulator's faults API there?)`);
}

async function create(base: string): Promise<{ ms: number; token?: string }> {
  const started = nowMs();
  const res = await fetch(`${base}/api/trpc/checkout.create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { items: [{ productId: 'ceramic-mug', quantity: 1 }] } }),
  });
  const body = (await res.json()) as any;
  const ms = nowMs() - started;
  return { ms, token: res.ok ? body?.result?.data?.json?.token : undefined };
}

/** TTFB = first body byte; qrBytes = the chunk carrying the QR's SVG; full = last byte. */
async function fetchPage(url: string) {
  const started = nowMs();
  const res = await fetch(url, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140 Safari/537.36', accept: 'text/html' } });
  let ttfb = NaN;
  let qrAt = NaN;
  let html = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const at = nowMs();
    if (Number.isNaN(ttfb)) ttfb = at - started;
    html += decoder.decode(chunk, { stream: true });
    if (Number.isNaN(qrAt) && /data-testid="qr"[^>]*>\s*<svg/.test(html)) qrAt = at - started;
  }
  return { status: res.status, ttfb, qrAt, full: nowMs() - started, html };
}

// Runs in the page before any of its scripts: the first animation frame in which the QR's SVG is laid out.
const QR_WATCH = `(() => {
  const check = () => {
    const svg = document.querySelector('[data-testid="qr"] svg');
    if (svg && svg.getBoundingClientRect().width > 0) { window.__qrLaidOutAt = performance.now(); return; }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();`;

export async function runCheckout(ctx: Ctx): Promise<CheckoutResult> {
  const { cluster, log } = ctx;
  const sz = sizes(ctx.opts.quick);
  const base = cluster.webUrls[0]!; // --webs is at least 1
  const tokens: string[] = [];
  const createRows: CheckoutResult['create'] = [];
  // Warm the route, the pools and the simulator client.
  for (let i = 0; i < 5; i++) await create(base);
  for (const latencyMs of [0, 100]) {
    await setApiLatency(cluster.simUrl, latencyMs);
    const samples: number[] = [];
    let failures = 0;
    for (let i = 0; i < sz.checkoutCreates; i++) {
      const r = await create(base);
      if (!r.token) failures++;
      else {
        samples.push(r.ms);
        tokens.push(r.token);
      }
    }
    const summary = summarize(samples);
    createRows.push({ latencyMs, summary, failures });
    log(`checkout.create (sim API latency ${latencyMs} ms): p50 ${summary.p50.toFixed(1)} p99 ${summary.p99.toFixed(1)} ms (${failures} failed)`);
  }
  await setApiLatency(cluster.simUrl, 0);

  // The checkout page over HTTP: one fetch per order (each a different page), sequentially.
  const ttfb: number[] = [];
  const qrBytes: number[] = [];
  const full: number[] = [];
  let qrInFirstHtml = true;
  for (const token of tokens.slice(0, 3)) await fetchPage(`${base}/checkout/${token}`); // warm
  for (const token of tokens) {
    const p = await fetchPage(`${base}/checkout/${token}`);
    if (p.status !== 200) throw new Error(`/checkout/<token> answered ${p.status}`);
    ttfb.push(p.ttfb);
    full.push(p.full);
    if (Number.isNaN(p.qrAt)) qrInFirstHtml = false;
    else qrBytes.push(p.qrAt);
  }
  const page = { ttfb: summarize(ttfb), qrBytes: summarize(qrBytes), full: summarize(full), qrInFirstHtml, samples: tokens.length };
  log(
    `checkout page: TTFB p50 ${page.ttfb.p50.toFixed(1)} ms, QR bytes p50 ${page.qrBytes.p50.toFixed(1)} ms, full HTML p50 ${page.full.p50.toFixed(1)} ms, QR in first HTML: ${qrInFirstHtml ? 'yes' : 'NO'}`,
  );

  // Chromium: a fresh context (cold cache, as a new shopper) per page.
  let browserResult: CheckoutResult['browser'];
  let browser: import('@playwright/test').Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const bTtfb: number[] = [];
    const bQr: number[] = [];
    const pages = tokens.slice(-sz.checkoutPages - 1);
    for (const [i, token] of pages.entries()) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.addInitScript(QR_WATCH);
      await page.goto(`${base}/checkout/${token}`, { waitUntil: 'load' });
      await page.waitForFunction(() => (window as any).__qrLaidOutAt !== undefined, undefined, { timeout: 15_000 });
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0;
        // Painted no earlier than the first contentful paint, and no earlier than the frame it was laid out in.
        return { ttfb: nav.responseStart - nav.startTime, qr: Math.max(fcp, (window as any).__qrLaidOutAt as number) };
      });
      await context.close();
      if (i === 0) continue; // the first load warms Next's static assets
      bTtfb.push(t.ttfb);
      bQr.push(t.qr);
    }
    browserResult = { ttfb: summarize(bTtfb), qrRendered: summarize(bQr), samples: bQr.length };
    log(
      `Chromium: TTFB p50 ${browserResult.ttfb.p50.toFixed(1)} ms, QR rendered p50 ${browserResult.qrRendered.p50.toFixed(1)} ms p99 ${browserResult.qrRendered.p99.toFixed(1)} ms (${bQr.length} cold page loads)`,
    );
  } catch (err) {
    browserResult = { error: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
    log(`Chromium measurement failed: ${browserResult.error}`);
  } finally {
    await browser?.close().catch(() => {});
  }
  return { create: createRows, page, browser: browserResult };
}
