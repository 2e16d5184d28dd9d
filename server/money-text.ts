// Amounts typed by people: yuan with at most two decimals, read exactly into integer fen (no floats).
// Pure, so the console's forms check what the server will check.

/** `12`, `12.3`, `12.30` (yuan) → fen; null when it is not a plain amount with at most two decimals. */
export function yuanToFen(text: string): number | null {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return null;
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(fen) ? fen : null;
}

export const fenToYuanText = (fen: number) => (fen / 100).toFixed(2);
