// What the storefront shows of a product, in the shopper's language. Each text falls back to the other
// language when the merchant left it empty (marked with its own `lang`, so it is read out right).
import type { AppLocale } from '@/i18n/config';

export interface StoreProduct {
  id: string;
  name: string;
  nameEn: string;
  tagline: string;
  taglineEn: string;
  description: string;
  descriptionEn: string;
  priceFen: number;
  imageUrl: string | null;
}

export interface LocalText {
  text: string;
  lang: AppLocale;
}

/** `zh` or `en` in the shopper's language, else the other one; null when both are empty. */
export function localText(zh: string | null | undefined, en: string | null | undefined, locale: string): LocalText | null {
  const preferred: LocalText = locale === 'en' ? { text: en ?? '', lang: 'en' } : { text: zh ?? '', lang: 'zh-CN' };
  const other: LocalText = locale === 'en' ? { text: zh ?? '', lang: 'zh-CN' } : { text: en ?? '', lang: 'en' };
  if (preferred.text.trim()) return preferred;
  if (other.text.trim()) return other;
  return null;
}

export function productTexts(p: StoreProduct, locale: string) {
  return {
    name: localText(p.name, p.nameEn, locale) ?? { text: p.id, lang: 'en' as const },
    tagline: localText(p.tagline, p.taglineEn, locale),
    description: localText(p.description, p.descriptionEn, locale),
  };
}
