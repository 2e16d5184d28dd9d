// Money is integer fen everywhere; it becomes yuan only here, at the moment it is formatted for display
// (with next-intl's `cny` number format: two decimals, "¥").
export function fenToYuan(fen: number): number {
  if (!Number.isSafeInteger(fen)) throw new Error(`amount must be an integer number of fen, got ${fen}`);
  return fen / 100;
}
