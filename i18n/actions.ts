'use server';
// The language switch: a plain form posting here works with and without JavaScript, and the cookie
// makes the choice stick across pages and visits. Setting a cookie in a Server Action re-renders the page.
import { cookies } from 'next/headers';
import { isAppLocale, LOCALE_COOKIE } from './config';

export async function setLocale(formData: FormData): Promise<void> {
  const locale = formData.get('locale');
  if (!isAppLocale(locale)) return;
  (await cookies()).set(LOCALE_COOKIE, locale, { path: '/', maxAge: 365 * 24 * 3600, sameSite: 'lax' });
}
