// WeChat can't pay a Native QR code shown on the same phone's screen (or saved to its album), so the
// checkout page warns phone users in the first HTML. Tablets are not warned: they usually show the code
// for a phone to scan. WeChat's in-app browser (MicroMessenger) is always on a phone or a pad.
const PHONE = /iPhone|iPod|Windows Phone|MicroMessenger|Mobile/i;

export function isPhoneUserAgent(userAgent: string | null | undefined): boolean {
  return Boolean(userAgent && PHONE.test(userAgent));
}
