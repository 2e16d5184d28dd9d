// Everything a request handler needs, built once by startSimulator.
import type { ServerResponse } from 'node:http';
import type { MerchantIdentity } from './auth';
import type { SimClock } from './clock';
import type { FaultStore } from './faults';
import type { Keyring } from './http';
import type { Notifier } from './notifier';
import type { OrderContext } from './orders';

export interface SimContext extends OrderContext {
  keyring: Keyring;
  merchant: MerchantIdentity;
  notifier: Notifier;
  faults: FaultStore;
  /** The simulated clock (ctx.now reads it). */
  clock: SimClock;
  merchantName: string;
  log: (msg: string) => void;
  /** Never answers `res` (the apiTimeoutRate fault): drops it after TIMEOUT_HOLD_MS, or at shutdown. */
  hold(res: ServerResponse): void;
}
