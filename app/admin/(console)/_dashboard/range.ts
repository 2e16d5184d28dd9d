// The dashboard's periods as Beijing dates: today, the last 7 or 30 days (today included), or custom.
const OFFSET = 8 * 3600_000;

export const todayBeijing = (now = Date.now()) => new Date(now + OFFSET).toISOString().slice(0, 10);

export function lastDays(n: number, now = Date.now()): { from: string; to: string } {
  const to = todayBeijing(now);
  return { from: new Date(Date.parse(`${to}T00:00:00Z`) - (n - 1) * 86_400_000).toISOString().slice(0, 10), to };
}
