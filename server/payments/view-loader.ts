// Live status refreshes a shopper's view after every change NOTIFY. A worker commits a whole batch of
// payments at once, so their NOTIFYs arrive together: the views asked for in the same turn of the event
// loop are read in ONE statement (getCheckoutViews) instead of one round trip each.
import type { Db } from '@/db/client';
import { getCheckoutViews, type CheckoutView } from './checkout';

interface Waiter {
  resolve: (view: CheckoutView | null) => void;
  reject: (err: unknown) => void;
}

/** At most this many orders per statement. */
const MAX_BATCH = 200;

class ViewLoader {
  private pending = new Map<string, Waiter[]>();
  private scheduled = false;

  constructor(private readonly db: Db) {}

  load(token: string): Promise<CheckoutView | null> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(token);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(token, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const tokens = [...batch.keys()];
    for (let i = 0; i < tokens.length; i += MAX_BATCH) {
      const chunk = tokens.slice(i, i + MAX_BATCH);
      try {
        const views = await getCheckoutViews(this.db, chunk);
        for (const token of chunk) for (const w of batch.get(token)!) w.resolve(views.get(token) ?? null);
      } catch (err) {
        for (const token of chunk) for (const w of batch.get(token)!) w.reject(err);
      }
    }
  }
}

const loaders = new WeakMap<Db, ViewLoader>();

/** The view of one order, read together with every other view asked for in the same tick. */
export function loadCheckoutView(db: Db, token: string): Promise<CheckoutView | null> {
  let loader = loaders.get(db);
  if (!loader) loaders.set(db, (loader = new ViewLoader(db)));
  return loader.load(token);
}
