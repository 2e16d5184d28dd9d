'use client';
// Times in the console are Beijing time (next-intl's time zone is Asia/Shanghai), and say so.
import { useFormatter, useTranslations } from 'next-intl';

export function BeijingTime({ value, withLabel = false }: { value: Date | string | null | undefined; withLabel?: boolean }) {
  const format = useFormatter();
  const t = useTranslations('admin');
  if (!value) return <span className="text-neutral-600">—</span>;
  const d = typeof value === 'string' ? new Date(value) : value;
  const text = format.dateTime(d, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return (
    <time dateTime={d.toISOString()} title={`${d.toISOString()} UTC`} className="whitespace-nowrap tabular-nums">
      {withLabel ? t('timeLabel', { time: text }) : text}
    </time>
  );
}

export function Money({ fen }: { fen: number }) {
  const format = useFormatter();
  return <span className="whitespace-nowrap tabular-nums">{format.number(fen / 100, 'cny')}</span>;
}
