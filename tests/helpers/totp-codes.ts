// TOTP codes for tests, each of a time step not used before: the server accepts a step once per user
// (server/auth/totp-replay.ts), so a second sign-in within 30 s needs the next step's code (accepted: the
// window is ±1 step), and a third waits until that one is current.
import type * as OTPAuth from 'otpauth';

const lastStep = new WeakMap<OTPAuth.TOTP, number>();
const stepOf = (totp: OTPAuth.TOTP, ms: number) => Math.floor(ms / 1000 / totp.period);

/** A code for the current step, or the next one when the current was used; marks it used. */
export async function freshCode(totp: OTPAuth.TOTP): Promise<string> {
  const target = Math.max(stepOf(totp, Date.now()), (lastStep.get(totp) ?? -1) + 1);
  // The server takes one step ahead at most: wait (rarely, three sign-ins in one step) until it does.
  while (target > stepOf(totp, Date.now()) + 1) await new Promise((r) => setTimeout(r, 500));
  lastStep.set(totp, target);
  return totp.generate({ timestamp: target * totp.period * 1000 });
}

/** Records that a code of `totp`'s current step was used elsewhere (e.g. computed by hand in a test). */
export function markUsed(totp: OTPAuth.TOTP, ms = Date.now()): void {
  lastStep.set(totp, Math.max(lastStep.get(totp) ?? -1, stepOf(totp, ms)));
}
