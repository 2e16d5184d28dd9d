// Everything a request handler needs, built once by startSimulator.
import type { MerchantIdentity } from './auth';
import type { Keyring } from './http';
import type { Notifier } from './notifier';
import type { OrderContext } from './orders';

export interface SimContext extends OrderContext {
  keyring: Keyring;
  merchant: MerchantIdentity;
  notifier: Notifier;
  merchantName: string;
  log: (msg: string) => void;
}
