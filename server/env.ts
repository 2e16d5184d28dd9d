// One validated configuration object for web, worker and scripts (DESIGN §5). A bad or missing setting
// stops start-up with one message that names it. Secrets are read here and never logged.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from './log';

/** Default largest order total: ¥50,000 (a shop's cart, not a wire transfer). */
export const DEFAULT_MAX_ORDER_AMOUNT_FEN = 5_000_000;
/** No setting can raise the cap above ¥10,000,000: amounts stay far from 32-bit integer columns' limit. */
export const MAX_ORDER_AMOUNT_FEN_LIMIT = 1_000_000_000;

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Least severe log level written (server/log.ts reads it first, so a configuration error is logged too). */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Address the web server binds to; put a TLS reverse proxy in front for WeChat to reach it. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Largest request body of any route (production and dev server): larger ones get 413 while being read. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024, 'must be at least 65536 (64 KB)')
    .max(100 * 1024 * 1024, 'must be at most 100 MB')
    .default(1024 * 1024),
  /** Largest product image the console accepts. It travels base64 in a JSON body, so it must fit MAX_BODY_BYTES as such (checked at start). */
  PRODUCT_IMAGE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024, 'must be at least 1024 bytes')
    .max(20 * 1024 * 1024, 'must be at most 20 MB')
    .default(700 * 1024),
  /** Time a client has to send a whole request (headers and body); a slower one is cut with 408. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000, 'must be at least 1000 ms').max(300_000, 'must be at most 300000 ms').default(10_000),
  /** Time a client has to send the request headers. */
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000, 'must be at least 1000 ms').max(300_000, 'must be at most 300000 ms').default(5_000),
  /** Port of the embedded Postgres (only used while DATABASE_URL is unset). */
  PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  APP_URL: z.url().optional(),
  RUN_WORKER: bool.default(true),
  MERCHANT_NAME: z.string().min(1).default('Scanpay Demo Store'),
  /** How long a QR code can be paid. Fractions are allowed (tests use seconds-long expiries). */
  ORDER_EXPIRE_MINUTES: z.coerce
    .number()
    .min(0.05)
    .max(7 * 24 * 60)
    .default(15),
  /** After its QR code expires, an unpaid order stays open this long for the shopper to get a new code. */
  ORDER_RENEW_WINDOW_MINUTES: z.coerce
    .number()
    .min(0.01)
    .max(7 * 24 * 60)
    .default(30),
  /** What to do with money that arrives for an attempt we closed, or a second paid attempt. */
  LATE_PAYMENT_POLICY: z.enum(['refund', 'review']).default('refund'),
  /** Our fee estimate before the bill says (parts per million of the settlement amount, rounded half up per payment, as WeChat does): 6000 = 0.6 %. */
  RECONCILIATION_FEE_RATE_PPM: z.coerce.number().int().min(0).max(100_000).default(6000),
  /** Hour (Beijing) until which the daily job retries a day whose bills are still missing (the alert for them is
   * the bill watchlist's, from its deadline hour, 11:00 by default, set in the console). */
  RECONCILIATION_RETRY_UNTIL_HOUR: z.coerce.number().int().min(10).max(23).default(12),
  /** Multiplies the active-query schedule (+5 s, +15 s, ...): tests and chaos runs use small values. */
  COMPENSATION_TIME_SCALE: z.coerce.number().positive().max(100).default(1),
  /**
   * Multiplies the refund timings: the spacing of one WeChat order's refunds (61 s: WeChat wants ≥ 1 minute) and
   * the active-query schedule (+1, +5, +10, +20, +30 min). Tests and chaos runs use small values.
   */
  REFUND_TIME_SCALE: z.coerce.number().positive().max(100).default(1),
  /** Console and API refunds of this many fen or more wait for a second person's approval (maker-checker). */
  REFUND_APPROVAL_THRESHOLD_FEN: z.coerce.number().int().min(1).default(1_000_00),
  /** Console refunds of this many fen or more need a fresh step-up (password or TOTP). */
  REFUND_STEP_UP_THRESHOLD_FEN: z.coerce.number().int().min(1).default(500_00),
  CHECKOUT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(20),
  /**
   * How many reverse proxies stand in front of the app. 0: the client is the socket's peer (our server
   * passes it in a header it overwrites); N: the N-th X-Forwarded-For address from the right, the one the
   * outermost of our N proxies saw. Too high a number lets clients pick their own address.
   */
  TRUST_PROXY_HOPS: z.coerce
    .number({ message: 'must be a whole number of reverse proxies in front of the app (0 when none)' })
    .int('must be a whole number of reverse proxies in front of the app (0 when none)')
    .min(0, 'must be 0 (no proxy in front) or the number of reverse proxies in front of the app')
    .max(10, 'must be at most 10: count only the proxies you run, each of which appends to X-Forwarded-For')
    .default(0),
  /** The largest order total a shopper can create, in fen (default ¥50,000; WeChat's own limits may be lower). */
  MAX_ORDER_AMOUNT_FEN: z.coerce
    .number({ message: 'must be an amount in fen (1 yuan = 100 fen), e.g. 5000000 for ¥50,000' })
    .int('must be a whole number of fen (1 yuan = 100 fen)')
    .min(1, 'must be at least 1 fen')
    .max(MAX_ORDER_AMOUNT_FEN_LIMIT, `must be at most ${MAX_ORDER_AMOUNT_FEN_LIMIT} fen (¥10,000,000), the largest amount an order can hold`)
    .default(DEFAULT_MAX_ORDER_AMOUNT_FEN),
  /**
   * The notification worker takes its next batch at most this often while batches come back short: it
   * gathers the notifications of a few milliseconds into one batch instead of one trip per notification.
   * Delays "paid" by up to this much; 0 takes each batch as soon as a notification lands.
   */
  NOTIFY_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(10),

  WECHATPAY_MODE: z.enum(['simulator', 'live']).optional(),
  WECHATPAY_MCHID: z
    .string()
    .regex(/^\d{6,32}$/, 'must be your numeric merchant id')
    .optional(),
  WECHATPAY_APPID: z.string().min(1).optional(),
  WECHATPAY_MERCHANT_SERIAL: z
    .string()
    .regex(/^[0-9A-Fa-f]{8,64}$/, 'must be the hex serial of your merchant API certificate')
    .optional(),
  WECHATPAY_MERCHANT_PRIVATE_KEY: z.string().optional(),
  WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: z.string().optional(),
  WECHATPAY_APIV3_KEY: z.string().optional(),
  WECHATPAY_PUBLIC_KEY: z.string().optional(),
  WECHATPAY_PUBLIC_KEY_FILE: z.string().optional(),
  WECHATPAY_PUBLIC_KEY_ID: z
    .string()
    .regex(/^PUB_KEY_ID_\d+$/, 'must look like PUB_KEY_ID_0114...')
    .optional(),
  WECHATPAY_PLATFORM_CERTIFICATE: z.string().optional(),
  WECHATPAY_PLATFORM_CERTIFICATE_FILE: z.string().optional(),
  WECHATPAY_BASE_URL: z.url().optional(),
  WECHATPAY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),

  /** postgres.js pool of each process (npm start gives each of several web processes a smaller one). */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** pg-boss's own pool in a worker process, beside postgres.js's. */
  PGBOSS_POOL_MAX: z.coerce.number().int().min(1).max(100).default(6),
  /** How often a worker's pg-boss puts jobs whose worker died back in the queue. */
  PGBOSS_SUPERVISE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** Web processes under `npm start`; unset: one per core, 1 to 4. */
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * While the payment queue is behind (a worker fetches 25 or more at once), the outbox's consumers give way for at
   * most this long: a delivery due now is sent once it is this overdue, webhook fan-out and statistics rollups
   * rest this long between batches. 0: they never give way. 5 s is the first retry interval of a webhook.
   */
  BACKLOG_DEFER_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  /** How often a worker looks for outbox events to hand to their consumers (webhooks, statistics). */
  OUTBOX_RELAY_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  /** Whether the statistics consumer takes outbox events (off: the dashboard's figures wait for the minute cron). */
  STATS_ROLLUP_CONSUMER: bool.default(true),
  /** Set by the supervisors: this process's name in logs and pg_stat_activity. */
  SCANPAY_PROCESS_NAME: z.string().min(1).max(60).default('scanpay'),
  /** Set by the production server for each of its web processes. */
  WEB_PROCESS_INDEX: z.coerce.number().int().min(0).default(0),

  /** Signs and encrypts console sessions and TOTP secrets (≥ 32 chars). Unset: generated once into DATA_DIR/auth-secret. */
  AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Console session: signed out after this much inactivity… */
  ADMIN_SESSION_IDLE_MINUTES: z.coerce
    .number()
    .min(1)
    .max(24 * 60)
    .default(30),
  /** …and after this long in any case. */
  ADMIN_SESSION_MAX_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(24 * 30)
    .default(12),
  /** Bearer token Prometheus sends to /api/metrics; unset, the endpoint answers 404 (disabled). At least 24 characters. */
  METRICS_TOKEN: z.string().min(24).max(200).optional(),
  /** /api/health/ready reports not ready when a payment queue's oldest ready job waited longer than this. */
  READY_MAX_QUEUE_LAG_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  /** Sensitive actions need a password or TOTP proof this recent (step-up). */
  ADMIN_STEP_UP_MINUTES: z.coerce.number().min(1).max(60).default(5),
  /** Failed sign-ins per account within the window before the account is locked for ADMIN_LOCKOUT_MINUTES. */
  ADMIN_SIGNIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  /** Failed sign-ins per client IP within the window before the IP is locked. */
  ADMIN_SIGNIN_IP_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(20),
  ADMIN_SIGNIN_WINDOW_MINUTES: z.coerce
    .number()
    .min(0.1)
    .max(24 * 60)
    .default(15),
  ADMIN_LOCKOUT_MINUTES: z.coerce
    .number()
    .min(0.05)
    .max(24 * 60)
    .default(15),

  /** An export refuses (with an explicit error, never a silent cut) a list longer than this. */
  EXPORT_MAX_ROWS: z.coerce.number().int().min(1).max(50_000_000).default(1_000_000),
  /** How long an export's download link works. */
  EXPORT_LINK_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(24 * 30)
    .default(24),

  /** Requests per minute one API key may make to /api/v1 (a 429 with Retry-After beyond it). */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** How long a rolled API key keeps working beside its successor, by default. */
  API_KEY_ROLL_OVERLAP_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  /** Multiplies the webhook retry schedule (5 s … 24 h) and the 5-day auto-disable: tests use small values. */
  WEBHOOK_RETRY_SCALE: z.coerce.number().positive().max(100).default(1),
  /** A receiver must answer 2xx within this long, or the attempt failed. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  /** Attempts in flight to one endpoint across all workers: one slow receiver holds at most this many sends, and
   * the others' deliveries go on beside it. Claims are taken one worker at a time, so the cap is exact. */
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /** Delivery attempts in flight per worker process, all endpoints together; each is settled when its own answer
   * comes, and its place is taken by the next due delivery. */
  WEBHOOK_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(32),
  /** How often an idle worker looks for due deliveries it was not woken for (a missed wake-up, a retry another
   * worker scheduled). New deliveries wake the workers at once. */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** An endpoint that failed everything for this many days (times WEBHOOK_RETRY_SCALE) is disabled, with an alert. */
  WEBHOOK_DISABLE_AFTER_DAYS: z.coerce.number().positive().max(60).default(5),
  /**
   * Webhook attempts (each request and answer) older than this many days are pruned by the sweep. At least 30:
   * the API and the console promise a month of delivery history to debug a receiver with.
   */
  WEBHOOK_ATTEMPT_RETENTION_DAYS: z.coerce.number().int().min(30, 'must be at least 30 (attempts are kept ≥ 30 days)').max(3650).default(90),
  /**
   * How long an Idempotency-Key's answer is replayed, after which the sweep prunes it. At least 24: the API
   * promises replay for 24 hours (a client retrying the next morning gets the first answer, not a second payment).
   */
  API_IDEMPOTENCY_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(24, 'must be at least 24 (the API replays answers for 24 hours)')
    .max(24 * 365)
    .default(48),

  SIM_PORT: z.coerce.number().int().min(1).max(65535).default(3100),
  SIM_TIME_SCALE: z.coerce.number().positive().max(1000).default(1),
  SIM_CREDENTIALS_FILE: z.string().optional(),
  /** The simulator's WeChat fee rate, a fraction (WeChat's standard rate is 0.6 %). */
  SIM_FEE_RATE: z.coerce.number().min(0).max(0.99).default(0.006),
  /** The simulator serves today's bills (so far) at once instead of from 10:00 Beijing the next day. */
  SIM_BILLS_IMMEDIATE: bool.default(false),
});

export type RawEnv = z.infer<typeof EnvSchema>;

export interface WechatPayLiveCredentials {
  mchid: string;
  appid: string;
  merchantSerial: string;
  merchantPrivateKeyPem: string;
  apiv3Key: string;
  /** Trusted WeChat keys by serial: the public key by its PUB_KEY_ID_, platform certificates by serial. */
  publicKey?: { id: string; pem: string };
  platformCertificatePems: string[];
}

export interface AppEnv extends RawEnv {
  wechatpayMode: 'simulator' | 'live';
  appUrl: string;
  notifyUrl: string;
  wechatpayBaseUrl: string;
  simulatorUrl: string;
  simCredentialsFile: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`).join('; ');
}

/** The request body an image upload of `imageBytes` needs: base64 (4 per 3 bytes) plus the JSON around it. */
export function productImageBodyBytes(imageBytes: number): number {
  return Math.ceil(imageBytes / 3) * 4 + 4096;
}

let cached: AppEnv | undefined;

/** Parses process.env once. Throws ConfigError naming the bad setting. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): AppEnv {
  if (cached && source === process.env) return cached;
  // Treat empty strings as unset: `FOO= npm run dev` should mean "use the default".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(`Invalid configuration: ${formatIssues(parsed.error)}`);
  const raw = parsed.data;
  // A production deployment with a typo in the credential names must not quietly start a fake payment
  // provider: there the mode is said, never guessed.
  if (raw.NODE_ENV === 'production' && !raw.WECHATPAY_MODE) {
    throw new ConfigError('WECHATPAY_MODE must be set when NODE_ENV=production: `live` with your merchant credentials, or `simulator` for a demo');
  }
  if (productImageBodyBytes(raw.PRODUCT_IMAGE_MAX_BYTES) > raw.MAX_BODY_BYTES) {
    throw new ConfigError(
      `PRODUCT_IMAGE_MAX_BYTES (${raw.PRODUCT_IMAGE_MAX_BYTES}) does not fit MAX_BODY_BYTES (${raw.MAX_BODY_BYTES}) once base64-encoded: raise MAX_BODY_BYTES to at least ${productImageBodyBytes(raw.PRODUCT_IMAGE_MAX_BYTES)} or lower the image cap`,
    );
  }
  const hasMerchantCredentials = Boolean(raw.WECHATPAY_MCHID || raw.WECHATPAY_MERCHANT_SERIAL || raw.WECHATPAY_APIV3_KEY);
  const wechatpayMode = raw.WECHATPAY_MODE ?? (hasMerchantCredentials ? 'live' : 'simulator');
  const appUrl = (raw.APP_URL ?? `http://127.0.0.1:${raw.PORT}`).replace(/\/$/, '');
  const simulatorUrl = `http://127.0.0.1:${raw.SIM_PORT}`;
  const env: AppEnv = {
    ...raw,
    wechatpayMode,
    appUrl,
    notifyUrl: `${appUrl}/api/wechatpay/notify`,
    simulatorUrl,
    wechatpayBaseUrl: (raw.WECHATPAY_BASE_URL ?? (wechatpayMode === 'simulator' ? simulatorUrl : 'https://api.mch.weixin.qq.com')).replace(/\/$/, ''),
    simCredentialsFile: path.resolve(/*turbopackIgnore: true*/ raw.SIM_CREDENTIALS_FILE ?? path.join(raw.DATA_DIR, 'simulator', 'credentials.json')),
  };
  if (wechatpayMode === 'live') liveCredentials(env); // fail fast on a missing credential
  if (source === process.env) cached = env;
  return env;
}

function inlineOrFile(env: RawEnv, name: keyof RawEnv & string): string | undefined {
  const inline = env[name] as string | undefined;
  const file = env[`${name}_FILE` as keyof RawEnv] as string | undefined;
  if (inline) return inline.replace(/\\n/g, '\n');
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`${name}_FILE points to ${file}, which does not exist`);
    return readFileSync(file, 'utf8');
  }
  return undefined;
}

/** Merchant credentials for live mode, with a clear error for each missing piece. */
export function liveCredentials(env: AppEnv): WechatPayLiveCredentials {
  const need = (name: string, value: string | undefined): string => {
    if (!value) throw new ConfigError(`${name} is required when WECHATPAY_MODE=live`);
    return value;
  };
  const apiv3Key = need('WECHATPAY_APIV3_KEY', env.WECHATPAY_APIV3_KEY);
  if (Buffer.byteLength(apiv3Key) !== 32) throw new ConfigError('WECHATPAY_APIV3_KEY must be exactly 32 characters');
  const publicKeyPem = inlineOrFile(env, 'WECHATPAY_PUBLIC_KEY');
  const certPem = inlineOrFile(env, 'WECHATPAY_PLATFORM_CERTIFICATE');
  if (publicKeyPem && !env.WECHATPAY_PUBLIC_KEY_ID) throw new ConfigError('WECHATPAY_PUBLIC_KEY_ID is required with WECHATPAY_PUBLIC_KEY');
  return {
    mchid: need('WECHATPAY_MCHID', env.WECHATPAY_MCHID),
    appid: need('WECHATPAY_APPID', env.WECHATPAY_APPID),
    merchantSerial: need('WECHATPAY_MERCHANT_SERIAL', env.WECHATPAY_MERCHANT_SERIAL).toUpperCase(),
    merchantPrivateKeyPem: need('WECHATPAY_MERCHANT_PRIVATE_KEY', inlineOrFile(env, 'WECHATPAY_MERCHANT_PRIVATE_KEY')),
    apiv3Key,
    publicKey: publicKeyPem ? { id: env.WECHATPAY_PUBLIC_KEY_ID!, pem: publicKeyPem } : undefined,
    platformCertificatePems: certPem ? [certPem] : [],
  };
}

/** Forget the cached config (tests that change process.env). */
export function resetEnvCache(): void {
  cached = undefined;
}
