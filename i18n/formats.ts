import type { Formats } from 'next-intl';
import type { AppLocale } from './config';

// Named formats shared by server and client components (the provider passes them down). Times are shown
// in Asia/Shanghai (the request config's timeZone); English adds "GMT+8" because an English reader may be
// elsewhere, while Chinese readers expect Beijing time without a label.
export const formats = {
  number: {
    // ¥ in both languages: "CN¥" (the English default) looks foreign to a shopper paying in yuan.
    cny: { style: 'currency', currency: 'CNY', currencyDisplay: 'narrowSymbol', minimumFractionDigits: 2, maximumFractionDigits: 2 },
  },
  dateTime: {
    // dateStyle/timeStyle cannot be combined with timeZoneName, hence the spelled-out fields.
    full: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' },
    time: { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' },
  },
} satisfies Formats;

export function formatsFor(locale: AppLocale): typeof formats {
  if (locale === 'en') return formats;
  const { timeZoneName: _a, ...full } = formats.dateTime.full;
  const { timeZoneName: _b, ...time } = formats.dateTime.time;
  return { ...formats, dateTime: { full, time } } as typeof formats;
}
