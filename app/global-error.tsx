'use client';
// The last resort, when even the root layout failed (so no translations): both languages, no details.
import './globals.css';

export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="zh-CN">
      <body className="min-h-screen">
        <main className="mx-auto max-w-md px-4 py-16 text-center">
          <h1 className="text-2xl font-semibold">
            出了点问题 · <span lang="en">Something went wrong</span>
          </h1>
          <p className="mt-2 text-neutral-700">页面暂时无法显示，您的订单和付款信息不会丢失，请重试。</p>
          <p className="mt-1 text-neutral-700" lang="en">
            We couldn&apos;t show this page right now. Nothing about your order or payment was lost. Please try again.
          </p>
          {error.digest && <p className="mt-4 font-mono text-xs text-neutral-600">{error.digest}</p>}
          <button type="button" onClick={() => reset()} className="mt-6 rounded-lg bg-neutral-900 px-4 py-2.5 font-medium text-white">
            重试 · <span lang="en">Try again</span>
          </button>
        </main>
      </body>
    </html>
  );
}
