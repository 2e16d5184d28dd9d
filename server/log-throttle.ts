// "Once per cause per interval": during an outage the same failure repeats for every attempt; the log
// should say it once a minute with how many times it happened, not once per attempt.
export function throttled(intervalMs: number, emit: (message: string, repeats: number) => void, now: () => number = Date.now) {
  const seen = new Map<string, { at: number; repeats: number }>();
  return (cause: string, message: string = cause): void => {
    const t = now();
    const entry = seen.get(cause);
    if (entry && t - entry.at < intervalMs) {
      entry.repeats++;
      return;
    }
    seen.set(cause, { at: t, repeats: 0 });
    emit(message, entry?.repeats ?? 0);
  };
}
