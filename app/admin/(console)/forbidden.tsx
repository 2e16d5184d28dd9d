import { getTranslations } from 'next-intl/server';
import type { Role } from '@/server/auth/permissions';

export async function Forbidden({ role }: { role: Role }) {
  const t = await getTranslations('admin');
  return (
    <div role="alert" data-testid="forbidden" className="rounded-md border border-amber-300 bg-amber-50 px-4 py-6 text-sm text-amber-900">
      {t('forbidden', { role: t(`roles.${role}`) })}
    </div>
  );
}
