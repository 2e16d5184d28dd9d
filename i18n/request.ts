// next-intl request configuration (no locale in the URL): cookie first, then Accept-Language, then zh-CN.
import { cookies, headers } from 'next/headers';
import { getRequestConfig } from 'next-intl/server';
import { isAppLocale, LOCALE_COOKIE, localeFromAcceptLanguage, TIME_ZONE, type AppLocale } from './config';
import { formatsFor } from './formats';

export async function resolveLocale(): Promise<AppLocale> {
  const chosen = (await cookies()).get(LOCALE_COOKIE)?.value;
  if (isAppLocale(chosen)) return chosen;
  return localeFromAcceptLanguage((await headers()).get('accept-language'));
}

export default getRequestConfig(async () => {
  const locale = await resolveLocale();
  return {
    locale,
    timeZone: TIME_ZONE,
    formats: formatsFor(locale),
    messages: (await import(`../messages/${locale}.json`)).default,
  };
});
