'use client';
// Every refund with its status, age, initiator and next query, and the inboxes that need a person: waiting
// for approval, ABNORMAL, CLOSED, PROCESSING for over a day — each saying what to do.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { ABNORMAL_REFUND_BANK_TYPES } from '@/server/wechatpay/schemas';
import { Dialog } from '../../_components/dialog';
import { useStepUp } from '../../_components/step-up';
import { BeijingTime, Money } from '../../_components/time';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading, Select } from '../../_components/ui';
import { refundErrorKey } from '../orders/[id]/refund-dialog';

const INBOXES = ['all', 'approval', 'abnormal', 'closed', 'stuck'] as const;
type Inbox = (typeof INBOXES)[number];
type Initiator = 'merchant' | 'api' | 'system' | 'bill';

export function RefundsView({ canManage }: { canManage: boolean }) {
  const t = useTranslations('refunds.list');
  const te = useTranslations('refunds.errors');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [inbox, setInbox] = useState<Inbox>('all');
  const [abnormalId, setAbnormalId] = useState<string | null>(null);
  const list = useQuery({ ...trpc.admin.refunds.list.queryOptions({ inbox, limit: 100 }), refetchInterval: 5000 });
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.admin.refunds.list.queryKey() });
  const { run, dialog: stepUpDialog } = useStepUp();
  const decide = useMutation(trpc.admin.refunds.decide.mutationOptions({ onSettled: refresh }));
  const reapply = useMutation(trpc.admin.refunds.reapply.mutationOptions({ onSettled: refresh }));
  const error = decide.error ?? reapply.error;

  return (
    <div className="space-y-4">
      <h1 className="text-lg font-semibold">{t('heading')}</h1>
      <div role="tablist" aria-label={t('heading')} className="flex flex-wrap gap-1">
        {INBOXES.map((i) => {
          const count = i === 'all' ? null : list.data?.counts[i];
          return (
            <button
              key={i}
              type="button"
              role="tab"
              aria-selected={inbox === i}
              data-testid={`inbox-${i}`}
              onClick={() => setInbox(i)}
              className={`rounded-md px-3 py-2 text-sm font-medium ${inbox === i ? 'bg-neutral-900 text-white' : 'text-neutral-800 hover:bg-neutral-100'}`}
            >
              {t(`inboxes.${i}`)}
              {count ? ` (${count})` : ''}
            </button>
          );
        })}
      </div>
      <Alert tone="amber" testId="inbox-help">
        {t(`help.${inbox}`)}
      </Alert>
      {error ? <Alert testId="refunds-error">{te(refundErrorKey(error))}</Alert> : null}
      <Card>
        {list.isPending ? (
          <Loading label={ta('loading')} />
        ) : list.isError ? (
          <ErrorState message={ta('error')} retry={() => void list.refetch()} retryLabel={ta('retry')} />
        ) : list.data.rows.length === 0 ? (
          <EmptyState>{t('empty')}</EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" data-testid="refunds-table">
              <thead>
                <tr className="border-b border-neutral-200 text-xs text-neutral-600">
                  <th className="p-2">{t('cols.status')}</th>
                  <th className="p-2">{t('cols.amount')}</th>
                  <th className="p-2">{t('cols.order')}</th>
                  <th className="p-2">{t('cols.outRefundNo')}</th>
                  <th className="p-2">{t('cols.initiatedBy')}</th>
                  <th className="p-2">{t('cols.age')}</th>
                  <th className="p-2">{t('cols.nextQuery')}</th>
                  {canManage ? <th className="p-2">{t('cols.actions')}</th> : null}
                </tr>
              </thead>
              <tbody>
                {list.data.rows.map((r) => (
                  <tr key={r.id} className="border-b border-neutral-100" data-testid="refund-row" data-status={r.status} data-out-refund-no={r.outRefundNo}>
                    <td className="p-2">
                      <Badge
                        tone={r.status === 'succeeded' ? 'green' : r.status === 'abnormal' || r.status === 'closed' || r.status === 'failed' ? 'red' : 'amber'}
                      >
                        {t(`statuses.${r.status}`)}
                      </Badge>
                    </td>
                    <td className="p-2">
                      <Money fen={r.amountFen} />
                    </td>
                    <td className="p-2">
                      <Link href={`/admin/orders/${r.orderId}`} className="font-mono text-xs text-blue-800 underline">
                        {r.outTradeNo}
                      </Link>
                    </td>
                    <td className="p-2 font-mono text-xs">{r.outRefundNo}</td>
                    <td className="p-2 text-xs">
                      {t(`initiators.${r.initiatedBy as Initiator}`)}
                      {r.requestedByEmail ? <div className="text-neutral-600">{t('by', { email: r.requestedByEmail })}</div> : null}
                    </td>
                    <td className="p-2 text-xs">
                      {r.ageMs >= 3600_000 ? t('age', { hours: Math.floor(r.ageMs / 3600_000) }) : t('ageMinutes', { minutes: Math.floor(r.ageMs / 60_000) })}
                    </td>
                    <td className="p-2 text-xs">{r.nextQueryAt ? <BeijingTime value={r.nextQueryAt} /> : '—'}</td>
                    {canManage ? (
                      <td className="p-2">
                        <div className="flex flex-wrap gap-1">
                          {r.status === 'pending_approval' ? (
                            <>
                              <Button
                                data-testid="approve"
                                onClick={() => void run(() => decide.mutateAsync({ refundId: r.id, approve: true })).catch(() => {})}
                                disabled={decide.isPending}
                              >
                                {t('approve')}
                              </Button>
                              <Button
                                variant="secondary"
                                data-testid="reject"
                                onClick={() => decide.mutate({ refundId: r.id, approve: false })}
                                disabled={decide.isPending}
                              >
                                {t('reject')}
                              </Button>
                            </>
                          ) : null}
                          {r.status === 'closed' && inbox === 'closed' ? (
                            <Button data-testid="reapply" onClick={() => reapply.mutate({ refundId: r.id })} disabled={reapply.isPending}>
                              {t('reapply')}
                            </Button>
                          ) : null}
                          {r.status === 'abnormal' && !r.abnormalResolution ? (
                            <Button data-testid="handle-abnormal" onClick={() => setAbnormalId(r.id)}>
                              {t('handle')}
                            </Button>
                          ) : null}
                          {r.status === 'abnormal' && r.abnormalResolution ? (
                            <span className="text-xs">{t('handled', { how: r.abnormalResolution })}</span>
                          ) : null}
                        </div>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {abnormalId ? <AbnormalDialog refundId={abnormalId} onClose={() => setAbnormalId(null)} onDone={refresh} run={run} /> : null}
      {stepUpDialog}
    </div>
  );
}

function AbnormalDialog({
  refundId,
  onClose,
  onDone,
  run,
}: {
  refundId: string;
  onClose: () => void;
  onDone: () => void;
  run: (a: () => Promise<unknown>) => Promise<void>;
}) {
  const t = useTranslations('refunds.abnormal');
  const te = useTranslations('refunds.errors');
  const td = useTranslations('refunds.dialog');
  const trpc = useTRPC();
  const [kind, setKind] = useState<'USER_BANK_CARD' | 'MERCHANT_BANK_CARD' | 'MERCHANT_PLATFORM'>('USER_BANK_CARD');
  const resolve = useMutation(trpc.admin.refunds.resolveAbnormal.mutationOptions({ onSuccess: onDone }));

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const resolution =
      kind === 'USER_BANK_CARD'
        ? {
            type: kind,
            bankType: String(d.get('bankType')) as (typeof ABNORMAL_REFUND_BANK_TYPES)[number],
            bankAccount: String(d.get('account') ?? '').replace(/\s/g, ''),
            realName: String(d.get('name') ?? ''),
          }
        : { type: kind };
    await run(() => resolve.mutateAsync({ refundId, resolution })).catch(() => {});
  }

  return (
    <Dialog open onOpenChange={(o) => (o ? null : onClose())} title={t('title')}>
      {resolve.isSuccess ? (
        <div className="space-y-3">
          <Alert tone="green" testId="abnormal-done">
            {t('done')}
          </Alert>
          <Button onClick={onClose}>{td('cancel')}</Button>
        </div>
      ) : (
        <form onSubmit={onSubmit} className="space-y-3" data-testid="abnormal-dialog">
          <Field label={t('kind')} htmlFor="abnormal-kind">
            <Select id="abnormal-kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
              <option value="USER_BANK_CARD">{t('userCard')}</option>
              <option value="MERCHANT_BANK_CARD">{t('merchantCard')}</option>
              <option value="MERCHANT_PLATFORM">{t('platform')}</option>
            </Select>
          </Field>
          {kind === 'USER_BANK_CARD' ? (
            <>
              <Field label={t('bank')} htmlFor="abnormal-bank">
                <Select id="abnormal-bank" name="bankType" defaultValue="ICBC_DEBIT">
                  {ABNORMAL_REFUND_BANK_TYPES.map((b) => (
                    <option key={b} value={b}>
                      {b}
                    </option>
                  ))}
                </Select>
              </Field>
              <Field label={t('account')} htmlFor="abnormal-account">
                <Input id="abnormal-account" name="account" inputMode="numeric" autoComplete="off" required />
              </Field>
              <Field label={t('name')} htmlFor="abnormal-name">
                <Input id="abnormal-name" name="name" autoComplete="off" required />
              </Field>
              <p className="text-xs text-neutral-600">{t('encrypted')}</p>
            </>
          ) : null}
          {resolve.isError ? <Alert testId="abnormal-error">{te(refundErrorKey(resolve.error))}</Alert> : null}
          <div className="flex justify-end gap-2">
            <Button variant="secondary" type="button" onClick={onClose}>
              {td('cancel')}
            </Button>
            <Button type="submit" disabled={resolve.isPending} data-testid="abnormal-submit">
              {t('submit')}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
