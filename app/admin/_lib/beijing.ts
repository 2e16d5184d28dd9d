// Beijing days: a `YYYY-MM-DD` in a filter means that day in Asia/Shanghai, whatever the browser's zone.
import { TZDate } from '@date-fns/tz';
import { addDays } from 'date-fns';

export const BEIJING = 'Asia/Shanghai';

export function beijingDayStart(day: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  return new Date(new TZDate(Number(m[1]), Number(m[2]) - 1, Number(m[3]), BEIJING).getTime());
}

/** The exclusive end of a Beijing day: the next day's midnight. */
export function beijingDayEnd(day: string): Date | undefined {
  const start = beijingDayStart(day);
  return start ? new Date(addDays(new TZDate(start.getTime(), BEIJING), 1).getTime()) : undefined;
}
