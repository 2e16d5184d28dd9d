// What the payment domain needs from the process that runs it: configuration, database, the WeChat Pay
// gateway and a clock. The boots build it (server/deps.ts) and pass it down; nothing here reaches for it.
import type { Db } from '@/db/client';
import type { AppEnv } from '@/server/env';
import type { Clock } from '@/server/clock';
import type { Gateway } from '@/server/wechatpay/gateway';

export interface PaymentDeps {
  env: AppEnv;
  db: Db;
  /** The gateway, built on first use: a credential problem surfaces where it is used (and is answered there). */
  gateway(): Gateway;
  clock: Clock;
}
