import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import type { ReactNode } from 'react';
import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../_lib/require';
import { SignOutButton } from './sign-out';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const { session } = await requireAdmin();
  const t = await getTranslations('admin');
  const role = session.user.role;
  const links = [
    { href: '/admin/orders', label: t('nav.orders'), show: can(role, 'orders:view') },
    { href: '/admin/products', label: t('nav.products'), show: can(role, 'products:view') },
    { href: '/admin/users', label: t('nav.users'), show: can(role, 'users:view') },
    { href: '/admin/limits', label: t('nav.limits'), show: can(role, 'refunds:view') },
    { href: '/admin/audit', label: t('nav.audit'), show: can(role, 'audit:view') },
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
      <main id="main">{children}</main>
    </div>
  );
}
