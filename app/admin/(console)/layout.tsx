import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import type { ReactNode } from 'react';
import { can } from '@/server/auth/permissions';
import { processDeps } from '@/server/deps';
import { alertCounts } from '@/server/monitoring/alerts';
import { requireAdmin } from '../_lib/require';
import { SignOutButton } from './sign-out';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const { session } = await requireAdmin();
  const t = await getTranslations('admin');
  const role = session.user.role;
  const tm = await getTranslations('monitoring');
  // Unresolved alerts, for the banner: read on every console page (an index scan of unresolved rows).
  const counts = can(role, 'alerts:view') ? await alertCounts(processDeps().db) : { open: 0, unresolved: 0 };
  const links = [
    { href: '/admin', label: t('nav.dashboard'), show: can(role, 'orders:view') },
    { href: '/admin/orders', label: t('nav.orders'), show: can(role, 'orders:view') },
    { href: '/admin/refunds', label: t('nav.refunds'), show: can(role, 'refunds:view') },
    { href: '/admin/alerts', label: t('nav.alerts'), show: can(role, 'alerts:view') },
    { href: '/admin/queues', label: t('nav.queues'), show: can(role, 'queues:view') },
    { href: '/admin/reconciliation', label: t('nav.reconciliation'), show: can(role, 'reconciliation:view') },
    { href: '/admin/products', label: t('nav.products'), show: can(role, 'products:view') },
    { href: '/admin/users', label: t('nav.users'), show: can(role, 'users:view') },
    { href: '/admin/limits', label: t('nav.limits'), show: can(role, 'refunds:view') },
    { href: '/admin/audit', label: t('nav.audit'), show: can(role, 'audit:view') },
    { href: '/admin/developers', label: t('nav.developers'), show: can(role, 'keys:view') || can(role, 'webhooks:view') },
    { href: '/admin/sessions', label: t('nav.sessions'), show: true },
  ].filter((l) => l.show);
  return (
    <div className="mx-auto max-w-7xl px-3 py-4 sm:px-4">
      <div className="mb-4 flex flex-wrap items-center justify-between gap-2 border-b border-neutral-200 pb-3">
        <nav aria-label={t('nav.menu')} className="flex flex-wrap gap-1">
          {links.map((l) => (
            <Link key={l.href} href={l.href} className="rounded-md px-3 py-2 text-sm font-medium text-neutral-800 hover:bg-neutral-100">
              {l.label}
            </Link>
          ))}
        </nav>
        <div className="flex flex-wrap items-center gap-2 text-sm text-neutral-600">
          <span data-testid="signed-in-as">{t('signedInAs', { email: session.user.email, role: t(`roles.${role}`) })}</span>
          <SignOutButton label={t('nav.signOut')} />
        </div>
      </div>
      {counts.open > 0 ? (
        <div
          role="status"
          data-testid="alert-banner"
          className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900"
        >
          <span>{tm('banner', { count: counts.open })}</span>
          <Link href="/admin/alerts" className="font-medium underline">
            {tm('bannerLink')}
          </Link>
        </div>
      ) : null}
      <main id="main">{children}</main>
    </div>
  );
}
