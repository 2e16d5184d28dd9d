import { getLocale, getTranslations } from 'next-intl/server';
import { setLocale } from '@/i18n/actions';
import { LOCALES, type AppLocale } from '@/i18n/config';

// Each language is named in itself, so a shopper who can't read the current one still finds theirs.
const NAMES: Record<AppLocale, string> = { 'zh-CN': '中文', en: 'English' };

/** A plain form (works before hydration and without JavaScript); the Server Action sets the cookie. */
export async function LanguageSwitch() {
  const locale = await getLocale();
  const t = await getTranslations('common');
  return (
    <form action={setLocale} aria-label={t('language')} className="flex items-center gap-1 text-sm" data-testid="language-switch">
      {LOCALES.map((l) => (
        <button
          key={l}
          type="submit"
          name="locale"
          value={l}
          lang={l}
          aria-pressed={l === locale}
          className={
            l === locale
              ? 'rounded-md bg-neutral-900 px-3 py-1.5 font-medium text-white'
              : 'rounded-md px-3 py-1.5 text-neutral-700 underline-offset-2 hover:bg-neutral-100 hover:underline'
          }
        >
          {NAMES[l]}
        </button>
      ))}
    </form>
  );
}
