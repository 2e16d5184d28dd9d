// A TOTP code proves possession once. better-auth 1.7.25 accepts the same code again for as long as it is
// valid (its verify walks ±1 time step and keeps no record; tests/integration/admin-totp-replay.test.ts
// shows the replay succeeding without this), so someone who reads a code over a shoulder or from a phished
// form could sign in with it a second time. Before better-auth checks a code we find the time step it
// belongs to and claim it atomically: a step at or before the last one accepted for that user is refused.
import * as OTPAuth from 'otpauth';
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { authTotpSteps } from '@/db/schema';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const BASE32_PREFIX = 'base32:';

/** The HMAC key as better-auth uses it: the decrypted secret's UTF-8 bytes, or its base32 decoding when prefixed. */
export function totpKey(decryptedSecret: string): OTPAuth.Secret {
  if (decryptedSecret.startsWith(BASE32_PREFIX)) return OTPAuth.Secret.fromBase32(decryptedSecret.slice(BASE32_PREFIX.length).toUpperCase());
  return OTPAuth.Secret.fromUTF8(decryptedSecret);
}

/** The time step `code` was generated for, within ±1 step of `now` (better-auth's window), or null. */
export function matchingStep(key: OTPAuth.Secret, code: string, now: number): number | null {
  const totp = new OTPAuth.TOTP({ secret: key, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, algorithm: 'SHA1' });
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

/**
 * Claims `step` for the user: true when it is later than any step accepted before (and is now the last),
 * false for a replay. One statement, so two requests racing with the same code cannot both win.
 */
export async function claimTotpStep(db: DbOrTx, userId: string, step: number): Promise<boolean> {
  const rows = await db.execute(sql`
    insert into ${authTotpSteps} (user_id, last_step) values (${userId}, ${step})
    on conflict (user_id) do update set last_step = excluded.last_step, updated_at = now()
    where ${authTotpSteps}.last_step < excluded.last_step
    returning user_id`);
  return rows.length === 1;
}

export const TOTP_REPLAY_CODE = 'TOTP_CODE_ALREADY_USED';
