import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from './_trpc/client';
import './globals.css';

export const metadata: Metadata = {
  title: 'Scanpay',
  description: 'Pay with WeChat Pay by scanning a QR code',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="zh-CN">
      <body className="min-h-screen">
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
