'use client';
// The refund dialog: the order's figures as WeChat's rules see them, the amount (all that is refundable by
// default) and a reason (presets or free text). One idempotency key per opening, so a double click or a
// retried request after a network error is the same refund, never a second one.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Dialog } from '../../../_components/dialog';
import { useStepUp } from '../../../_components/step-up';
import { Money } from '../../../_components/time';
import { Alert, Button, Field, Input, Select } from '../../../_components/ui';

const PRESETS = ['returned', 'notDelivered', 'duplicate', 'priceAdjust', 'customerRequest', 'other'] as const;

type RefundErrorKey = keyof typeof import('@/messages/en.json')['refunds']['errors'];

/** The translation key of a refused refund action: its rule, or "generic". */
export function refundErrorKey(err: unknown): RefundErrorKey {
  const rule = err instanceof TRPCClientError ? err.message : '';
  return /^[A-Z_]+$/.test(rule) ? (rule as RefundErrorKey) : 'generic';
}

function toFen(yuan: string): number | null {
  if (!/^\d+(\.\d{1,2})?$/.test(yuan.trim())) return null;
  return Math.round(Number(yuan.trim()) * 100);
}

export function RefundDialog({ orderId, approvalThresholdFen }: { orderId: string; approvalThresholdFen: number }) {
  const t = useTranslations('refunds.dialog');
  const te = useTranslations('refunds.errors');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { run, dialog: stepUpDialog } = useStepUp();
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  const [amount, setAmount] = useState('');
  const [preset, setPreset] = useState<(typeof PRESETS)[number]>('returned');
  const [text, setText] = useState('');
  const [badAmount, setBadAmount] = useState(false);
  const figures = useQuery({ ...trpc.admin.refunds.figures.queryOptions({ orderId }), enabled: open });
  const request = useMutation(
    trpc.admin.refunds.request.mutationOptions({
      onSettled: () => {
        void qc.invalidateQueries({ queryKey: trpc.admin.orders.get.queryKey({ id: orderId }) });
        void qc.invalidateQueries({ queryKey: trpc.admin.refunds.figures.queryKey({ orderId }) });
      },
    }),
  );

  function openDialog() {
    setKey(crypto.randomUUID());
    request.reset();
    setAmount('');
    setText('');
    setPreset('returned');
    setBadAmount(false);
    setOpen(true);
  }

  const f = figures.data;
  const amountText = amount || (f ? (f.refundableFen / 100).toFixed(2) : '');
  const fen = toFen(amountText);
  const reason = preset === 'other' ? text : text.trim() || t(`presets.${preset}`);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!f || fen === null || fen < 1 || fen > f.refundableFen) {
      setBadAmount(true);
      return;
    }
    setBadAmount(false);
    await run(() => request.mutateAsync({ orderId, amountFen: fen, reason, idempotencyKey: key })).catch(() => {});
  }

  return (
    <>
      <Button onClick={openDialog} data-testid="refund-open">
        {t('open')}
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title={t('title')}>
        {!f ? (
          figures.isError ? (
            <Alert>{te('generic')}</Alert>
          ) : (
            <p className="text-sm">…</p>
          )
        ) : (
          <form onSubmit={onSubmit} className="space-y-3" data-testid="refund-dialog">
            <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-sm">
              <dt className="text-neutral-600">{t('paid')}</dt>
              <dd data-testid="refund-paid">
                <Money fen={f.paidFen} />
              </dd>
              <dt className="text-neutral-600">{t('refunded')}</dt>
              <dd data-testid="refund-refunded">
                <Money fen={f.refundedFen} />
              </dd>
              <dt className="text-neutral-600">{t('inFlight')}</dt>
              <dd data-testid="refund-in-flight">
                <Money fen={f.inFlightFen} />
              </dd>
              <dt className="text-neutral-600">{t('refundable')}</dt>
              <dd data-testid="refund-refundable">
                <Money fen={f.refundableFen} />
              </dd>
              <dt className="text-neutral-600">{t('daysLeft')}</dt>
              <dd data-testid="refund-days-left">{t('daysLeftValue', { days: Math.max(0, f.daysLeft) })}</dd>
              <dt className="text-neutral-600">{t('refundsLeft')}</dt>
              <dd data-testid="refund-refunds-left">{t('refundsLeftValue', { left: f.refundsLeft, max: f.maxRefunds })}</dd>
            </dl>
            {/* The answer first: after a full refund the refetched figures say "nothing refundable" too. */}
            {request.data ? (
              <Alert tone="green" testId="refund-result">
                {request.data.status === 'pending_approval' ? t('pending', { no: request.data.outRefundNo }) : t('done', { no: request.data.outRefundNo })}
              </Alert>
            ) : !f.refundable ? (
              <Alert tone="amber">{t('notRefundable')}</Alert>
            ) : (
              <>
                <Field label={t('amount')} htmlFor="refund-amount" hint={t('amountHint', { max: (f.refundableFen / 100).toFixed(2) })}>
                  <Input
                    id="refund-amount"
                    name="amount"
                    inputMode="decimal"
                    value={amountText}
                    onChange={(e) => setAmount(e.target.value)}
                    aria-invalid={badAmount}
                  />
                </Field>
                {badAmount ? <Alert>{t('badAmount')}</Alert> : null}
                <Field label={t('reasonPreset')} htmlFor="refund-preset">
                  <Select id="refund-preset" value={preset} onChange={(e) => setPreset(e.target.value as (typeof PRESETS)[number])}>
                    {PRESETS.map((p) => (
                      <option key={p} value={p}>
                        {t(`presets.${p}`)}
                      </option>
                    ))}
                  </Select>
                </Field>
                <Field label={t('reasonText')} htmlFor="refund-reason">
                  <Input
                    id="refund-reason"
                    name="reason"
                    maxLength={80}
                    value={text}
                    placeholder={preset === 'other' ? '' : t(`presets.${preset}`)}
                    onChange={(e) => setText(e.target.value)}
                  />
                </Field>
                {fen !== null && fen <= 100 && fen < f.paidFen ? (
                  <p className="text-xs text-neutral-600" data-testid="reason-hidden">
                    {t('reasonHidden')}
                  </p>
                ) : null}
                {fen !== null && fen >= approvalThresholdFen ? (
                  <p className="text-xs text-amber-800" data-testid="approval-note">
                    {t('approvalNote', { amount: `¥${(approvalThresholdFen / 100).toFixed(2)}` })}
                  </p>
                ) : null}
                {request.isError ? <Alert testId="refund-error">{te(refundErrorKey(request.error))}</Alert> : null}
                <div className="flex justify-end gap-2">
                  <Button variant="secondary" type="button" onClick={() => setOpen(false)}>
                    {t('cancel')}
                  </Button>
                  <Button type="submit" disabled={request.isPending} data-testid="refund-submit">
                    {request.isPending ? t('submitting') : t('submit')}
                  </Button>
                </div>
              </>
            )}
          </form>
        )}
      </Dialog>
      {stepUpDialog}
    </>
  );
}
