// What the storefront shows of a product, and which of its two names leads in the shopper's language.
export interface StoreProduct {
  id: string;
  name: string;
  nameEn: string | null;
  description: string | null;
  priceFen: number;
  imageUrl: string | null;
}

export function productNames(p: Pick<StoreProduct, 'name' | 'nameEn'>, locale: string) {
  const en = p.nameEn || p.name;
  return locale === 'en'
    ? { primary: en, secondary: p.nameEn ? p.name : null, secondaryLang: 'zh-CN' }
    : { primary: p.name, secondary: p.nameEn || null, secondaryLang: 'en' };
}
