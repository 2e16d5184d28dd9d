'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useLocale, useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Money } from '../../_components/time';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';

interface Product {
  id: string;
  name: string;
  nameEn: string;
  tagline: string;
  taglineEn: string;
  description: string;
  descriptionEn: string;
  priceFen: number;
  imageUrl: string | null;
  position: number;
  active: boolean;
}

// Codes the server answers with (server/catalog/products.ts); anything else is shown as the server says it.
const KNOWN_ERRORS = ['PRICE_INVALID', 'PRICE_ABOVE_CAP', 'PRODUCT_ID_INVALID', 'IMAGE_TYPE', 'IMAGE_TOO_LARGE', 'IMAGE_EMPTY'] as const;
type KnownError = (typeof KNOWN_ERRORS)[number];

function errorCodes(err: unknown): { field: string; code: string }[] {
  if (!(err instanceof TRPCClientError)) return [];
  const issues = (err.data as { zodIssues?: { path: (string | number)[]; message: string }[] } | undefined)?.zodIssues;
  if (issues?.length) return issues.map((i) => ({ field: String(i.path[0] ?? ''), code: i.message }));
  return [{ field: err.message.startsWith('IMAGE_') ? 'image' : '', code: err.message }];
}

const fenToYuanText = (fen: number) => (fen / 100).toFixed(2);

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

export function ProductsView({ canManage, maxImageBytes, maxPriceFen }: { canManage: boolean; maxImageBytes: number; maxPriceFen: number }) {
  const t = useTranslations('consoleMore.products');
  const ta = useTranslations('admin');
  const locale = useLocale();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.admin.products.list.queryOptions());
  const create = useMutation(trpc.admin.products.create.mutationOptions());
  const update = useMutation(trpc.admin.products.update.mutationOptions());
  const setImage = useMutation(trpc.admin.products.setImage.mutationOptions());
  const setActive = useMutation(trpc.admin.products.setActive.mutationOptions());
  const [editing, setEditing] = useState<Product | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ tone: 'green' | 'red'; text: string } | null>(null);
  const busy = create.isPending || update.isPending || setImage.isPending;
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.admin.products.list.queryKey() });

  const explain = (code: string) =>
    (KNOWN_ERRORS as readonly string[]).includes(code)
      ? t(`errors.${code as KnownError}`, { max: fenToYuanText(maxPriceFen), maxKb: Math.floor(maxImageBytes / 1024) })
      : code;

  function showError(err: unknown) {
    const codes = errorCodes(err);
    if (!codes.length) {
      setMessage({ tone: 'red', text: err instanceof Error ? err.message : ta('error') });
      return;
    }
    const byField: Record<string, string> = {};
    for (const c of codes) if (c.field && !byField[c.field]) byField[c.field] = explain(c.code);
    setErrors(byField);
    const general = codes.filter((c) => !c.field).map((c) => explain(c.code));
    setMessage({ tone: 'red', text: general.length ? general.join(' ') : t('fixFields') });
  }

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setErrors({});
    setMessage(null);
    const d = new FormData(e.currentTarget);
    const text = (k: string) => String(d.get(k) ?? '').trim();
    const file = d.get('image');
    const image = file instanceof File && file.size > 0 ? file : null;
    if (image && image.size > maxImageBytes) {
      setErrors({ image: explain('IMAGE_TOO_LARGE') });
      setMessage({ tone: 'red', text: t('fixFields') });
      return;
    }
    const fields = {
      name: text('name'),
      nameEn: text('nameEn'),
      tagline: text('tagline'),
      taglineEn: text('taglineEn'),
      description: text('description'),
      descriptionEn: text('descriptionEn'),
      priceYuan: text('priceYuan'),
      position: Number(text('position') || '0'),
    };
    const id = editing ? editing.id : text('id');
    try {
      if (editing) await update.mutateAsync({ id, ...fields });
      else await create.mutateAsync({ id, ...fields });
    } catch (err) {
      showError(err);
      return;
    }
    if (image) {
      try {
        await setImage.mutateAsync({ id, dataBase64: await readBase64(image) });
      } catch (err) {
        // The texts are saved; only the image needs another try (the form switches to editing it).
        await refresh();
        const saved = (await qc.fetchQuery(trpc.admin.products.list.queryOptions())).find((p) => p.id === id) ?? null;
        setEditing(saved);
        setFormKey((k) => k + 1);
        showError(err);
        return;
      }
    }
    await refresh();
    setMessage({ tone: 'green', text: editing ? t('saved', { id }) : t('created', { id }) });
    setEditing(null);
    setFormKey((k) => k + 1);
  }

  function toggle(p: Product) {
    setMessage(null);
    setActive.mutate(
      { id: p.id, active: !p.active },
      {
        onSuccess: () => {
          void refresh();
          setMessage({ tone: 'green', text: p.active ? t('deactivated', { id: p.id }) : t('reactivated', { id: p.id }) });
        },
        onError: showError,
      },
    );
  }

  const fieldError = (name: string) =>
    errors[name] ? (
      <p id={`${name}-error`} className="text-xs text-red-800">
        {errors[name]}
      </p>
    ) : null;
  const invalid = (name: string) => (errors[name] ? { 'aria-invalid': true as const, 'aria-describedby': `${name}-error` } : {});
  const textArea = 'min-h-20 w-full rounded-md border border-neutral-300 bg-white px-3 py-2 text-sm';

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">{t('help')}</p>
      {message ? (
        <Alert tone={message.tone} testId="products-message">
          {message.text}
        </Alert>
      ) : null}
      {canManage ? (
        <Card title={editing ? t('editTitle', { id: editing.id }) : t('createTitle')}>
          <form key={`${editing?.id ?? 'new'}-${formKey}`} onSubmit={onSubmit} className="grid gap-3 sm:grid-cols-2" noValidate>
            {editing ? null : (
              <div className="sm:col-span-2">
                <Field label={t('id')} htmlFor="product-id" hint={t('idHint')}>
                  <Input id="product-id" name="id" required maxLength={64} autoComplete="off" {...invalid('id')} />
                </Field>
                {fieldError('id')}
              </div>
            )}
            {(
              [
                ['name', t('nameZh')],
                ['nameEn', t('nameEn')],
                ['tagline', t('taglineZh')],
                ['taglineEn', t('taglineEn')],
              ] as const
            ).map(([name, label]) => (
              <div key={name}>
                <Field label={label} htmlFor={`product-${name}`}>
                  <Input
                    id={`product-${name}`}
                    name={name}
                    lang={name.endsWith('En') ? 'en' : 'zh-CN'}
                    maxLength={name.startsWith('name') ? 100 : 200}
                    required={name.startsWith('name')}
                    defaultValue={editing?.[name] ?? ''}
                    {...invalid(name)}
                  />
                </Field>
                {fieldError(name)}
              </div>
            ))}
            {(
              [
                ['description', t('descriptionZh')],
                ['descriptionEn', t('descriptionEn')],
              ] as const
            ).map(([name, label]) => (
              <div key={name}>
                <Field label={label} htmlFor={`product-${name}`}>
                  <textarea
                    id={`product-${name}`}
                    name={name}
                    lang={name.endsWith('En') ? 'en' : 'zh-CN'}
                    maxLength={2000}
                    defaultValue={editing?.[name] ?? ''}
                    className={textArea}
                    {...invalid(name)}
                  />
                </Field>
                {fieldError(name)}
              </div>
            ))}
            <div>
              <Field label={t('price')} htmlFor="product-priceYuan" hint={t('priceHint', { max: fenToYuanText(maxPriceFen) })}>
                <Input
                  id="product-priceYuan"
                  name="priceYuan"
                  inputMode="decimal"
                  required
                  autoComplete="off"
                  defaultValue={editing ? fenToYuanText(editing.priceFen) : ''}
                  {...invalid('priceYuan')}
                />
              </Field>
              {fieldError('priceYuan')}
            </div>
            <div>
              <Field label={t('position')} htmlFor="product-position" hint={t('positionHint')}>
                <Input id="product-position" name="position" type="number" min={0} step={1} defaultValue={editing?.position ?? 0} {...invalid('position')} />
              </Field>
              {fieldError('position')}
            </div>
            <div className="sm:col-span-2">
              <Field label={t('image')} htmlFor="product-image" hint={t('imageHint', { maxKb: Math.floor(maxImageBytes / 1024) })}>
                <Input id="product-image" name="image" type="file" accept="image/png,image/jpeg,image/webp" {...invalid('image')} />
              </Field>
              {fieldError('image')}
            </div>
            <div className="flex flex-wrap gap-2 sm:col-span-2">
              <Button type="submit" disabled={busy}>
                {editing ? t('save') : t('create')}
              </Button>
              {editing ? (
                <Button
                  variant="secondary"
                  onClick={() => {
                    setEditing(null);
                    setErrors({});
                  }}
                >
                  {t('cancel')}
                </Button>
              ) : null}
            </div>
          </form>
        </Card>
      ) : null}
      <Card title={t('listTitle')}>
        {list.isPending ? (
          <Loading label={ta('loading')} />
        ) : list.isError ? (
          <ErrorState message={ta('error')} retry={() => void list.refetch()} retryLabel={ta('retry')} />
        ) : list.data.length === 0 ? (
          <EmptyState>{t('empty')}</EmptyState>
        ) : (
          <ul className="divide-y divide-neutral-100" data-testid="products">
            {list.data.map((p) => (
              <li key={p.id} className="flex flex-wrap items-center gap-3 py-3 text-sm" data-testid="product-row" data-product-id={p.id}>
                {p.imageUrl ? (
                  // biome-ignore lint/performance/noImgElement: a small thumbnail of the merchant's own upload
                  <img src={p.imageUrl} alt="" width={64} height={48} className="h-12 w-16 shrink-0 rounded bg-neutral-100 object-cover" />
                ) : (
                  <span className="h-12 w-16 shrink-0 rounded bg-neutral-100" aria-hidden="true" />
                )}
                <div className="min-w-0 flex-1 space-y-0.5">
                  <p className="font-medium">
                    <span lang="zh-CN">{p.name}</span> · <span lang="en">{p.nameEn}</span>
                  </p>
                  <p className="flex flex-wrap items-center gap-2 text-xs text-neutral-600">
                    <code>{p.id}</code>
                    <Money fen={p.priceFen} />
                    <Badge tone={p.active ? 'green' : 'neutral'}>{p.active ? t('active') : t('inactive')}</Badge>
                  </p>
                </div>
                {canManage ? (
                  <div className="flex flex-wrap gap-2">
                    <Button
                      variant="secondary"
                      aria-label={t('editLabel', { name: locale === 'en' ? p.nameEn : p.name })}
                      onClick={() => {
                        setEditing(p);
                        setErrors({});
                        setMessage(null);
                      }}
                    >
                      {t('edit')}
                    </Button>
                    <Button
                      variant={p.active ? 'danger' : 'secondary'}
                      disabled={setActive.isPending}
                      aria-label={t(p.active ? 'deactivateLabel' : 'reactivateLabel', { name: locale === 'en' ? p.nameEn : p.name })}
                      onClick={() => toggle(p)}
                    >
                      {p.active ? t('deactivate') : t('reactivate')}
                    </Button>
                  </div>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
