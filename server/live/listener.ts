// One LISTEN connection per web process, fanned out in memory to every live subscription of that process.
// Because the NOTIFY is sent by whichever process committed the change (a worker, another web instance),
// a shopper connected here sees payments processed anywhere.
import { EventEmitter } from 'node:events';
import postgres from 'postgres';
import { ORDER_STATUS_CHANNEL, type OrderStatusMessage } from './publish';

interface ListenerState {
  emitter: EventEmitter;
  sql?: postgres.Sql;
  ready?: Promise<void>;
}

const holder = globalThis as unknown as { __scanpayListener?: ListenerState };
const state: ListenerState = (holder.__scanpayListener ??= { emitter: new EventEmitter() });
state.emitter.setMaxListeners(0); // one listener per open checkout page

function ensureListening(url: string): Promise<void> {
  if (!state.ready) {
    // A dedicated, session-level connection: LISTEN does not survive a pooled/transaction-mode connection.
    state.sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'scanpay-live' } });
    state.ready = state.sql
      .listen(ORDER_STATUS_CHANNEL, (payload) => {
        try {
          const message = JSON.parse(payload) as OrderStatusMessage;
          state.emitter.emit(message.orderId, message);
        } catch {
          // Not ours to crash on: ignore malformed payloads.
        }
      })
      .then(
        () => undefined,
        (err) => {
          state.ready = undefined;
          throw err;
        },
      );
  }
  return state.ready;
}

/**
 * Calls `onChange` whenever the order's status changes (in any process). Returns an unsubscribe function.
 * postgres.js re-establishes LISTEN after a reconnect by itself.
 */
export async function subscribeOrderStatus(databaseUrl: string, orderId: string, onChange: (message: OrderStatusMessage) => void): Promise<() => void> {
  await ensureListening(databaseUrl);
  state.emitter.on(orderId, onChange);
  return () => state.emitter.off(orderId, onChange);
}
