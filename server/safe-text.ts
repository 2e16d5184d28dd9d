// Text that may reach SQL, logs and other systems: well-formed Unicode without control characters.
// Postgres refuses U+0000 in text (a 500 with the SQL in the log, before this check), a lone surrogate
// cannot be encoded as UTF-8 at all, and control characters have no business in an id or a name.
import { z } from 'zod';

// C0 controls (NUL included), DEL, C1 controls; then a high surrogate not followed by a low one, or a low
// surrogate not preceded by a high one; then the two noncharacters every plane ends in.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NONCHARACTER = /[\ufffe\uffff]/;

/** Why `value` is not acceptable text, or null when it is. */
export function invalidTextReason(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL bytes';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it contains a lone surrogate)';
  if (NONCHARACTER.test(value)) return 'must be valid Unicode text (it contains a noncharacter)';
  return null;
}

/** A zod string of 1..max characters that is well-formed text (see invalidTextReason). */
export function safeText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .superRefine((value, ctx) => {
      const reason = invalidTextReason(value);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    });
}
