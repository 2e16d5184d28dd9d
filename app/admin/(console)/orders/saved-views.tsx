'use client';
// Saved views shared with the team: the list's filters (its URL query) under a name.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Button, Input } from '../../_components/ui';

export function SavedViews() {
  const t = useTranslations('admin.orders');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const views = useQuery(trpc.admin.views.list.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.admin.views.list.queryKey() });
  const save = useMutation(trpc.admin.views.save.mutationOptions({ onSuccess: refresh }));
  const del = useMutation(trpc.admin.views.delete.mutationOptions({ onSuccess: refresh }));
  const [name, setName] = useState('');

  function onSave(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!name.trim()) return;
    save.mutate({ name: name.trim(), query: window.location.search });
    setName('');
  }

  return (
    <details className="rounded-lg border border-neutral-200 bg-white p-3 text-sm" data-testid="saved-views">
      <summary className="cursor-pointer font-medium">{t('views')}</summary>
      <div className="mt-2 space-y-2">
        {views.data?.length ? (
          <ul className="flex flex-wrap gap-2">
            {views.data.map((v) => (
              <li key={v.id} className="flex items-center gap-1 rounded-full border border-neutral-300 px-2 py-0.5">
                <Link href={`/admin/orders${v.query ? `?${v.query}` : ''}`} className="text-blue-800 underline" title={t('by', { email: v.createdByEmail })}>
                  {v.name}
                </Link>
                <button
                  type="button"
                  aria-label={t('deleteView', { name: v.name })}
                  className="rounded px-1 text-neutral-500 hover:text-red-700"
                  onClick={() => del.mutate({ id: v.id })}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-neutral-600">{t('noViews')}</p>
        )}
        <form onSubmit={onSave} className="flex gap-2">
          <label htmlFor="view-name" className="sr-only">
            {t('viewName')}
          </label>
          <Input id="view-name" value={name} onChange={(e) => setName(e.target.value)} placeholder={t('viewName')} maxLength={80} />
          <Button type="submit" variant="secondary" disabled={save.isPending}>
            {t('saveView')}
          </Button>
        </form>
      </div>
    </details>
  );
}
