import type { AppLocale } from './config';
import type { formats } from './formats';
import type messages from '../messages/en.json';

// Typed translations: a key missing from the English catalogue (the reference) fails type-checking.
declare module 'next-intl' {
  interface AppConfig {
    Locale: AppLocale;
    Messages: typeof messages;
    Formats: typeof formats;
  }
}
