'use client';
// The cart lives in localStorage so it survives reloads (and stays in step across tabs). It holds only
// product ids and quantities: prices and totals always come from the server.
import { useCallback, useSyncExternalStore } from 'react';

export interface CartLine {
  productId: string;
  quantity: number;
}

const KEY = 'scanpay.cart.v1';
export const MAX_QUANTITY = 99;
const EMPTY: readonly CartLine[] = Object.freeze([]);
const listeners = new Set<() => void>();
let cachedRaw: string | null = null;
let cachedLines: readonly CartLine[] = EMPTY;

function parse(raw: string | null): readonly CartLine[] {
  if (!raw) return EMPTY;
  try {
    const data: unknown = JSON.parse(raw);
    if (!Array.isArray(data)) return EMPTY;
    const lines = data.filter(
      (l): l is CartLine => typeof l === 'object' && l !== null && typeof l.productId === 'string' && Number.isInteger(l.quantity) && l.quantity >= 1,
    );
    return lines.map((l) => ({ productId: l.productId, quantity: Math.min(l.quantity, MAX_QUANTITY) }));
  } catch {
    return EMPTY;
  }
}

function read(): readonly CartLine[] {
  let raw: string | null = null;
  try {
    raw = window.localStorage.getItem(KEY);
  } catch {} // storage disabled (private mode): behave as an in-memory cart
  if (raw !== cachedRaw) {
    cachedRaw = raw;
    cachedLines = parse(raw);
  }
  return cachedLines;
}

function write(lines: readonly CartLine[]) {
  const raw = JSON.stringify(lines);
  cachedRaw = raw;
  cachedLines = lines;
  try {
    window.localStorage.setItem(KEY, raw);
  } catch {}
  for (const l of listeners) l();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) listener();
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

/** The server render (and the first client render) sees an empty cart; the stored one follows at once. */
export function useCart() {
  const lines = useSyncExternalStore(subscribe, read, () => EMPTY);
  const setQuantity = useCallback((productId: string, quantity: number) => {
    const current = read();
    const q = Math.max(0, Math.min(MAX_QUANTITY, Math.floor(quantity)));
    const exists = current.some((l) => l.productId === productId);
    const next =
      q === 0
        ? current.filter((l) => l.productId !== productId)
        : exists
          ? current.map((l) => (l.productId === productId ? { ...l, quantity: q } : l))
          : [...current, { productId, quantity: q }];
    write(next);
  }, []);
  const clear = useCallback(() => write(EMPTY), []);
  return { lines, setQuantity, clear };
}
