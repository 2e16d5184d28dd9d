// The simulator's own logger (it stands for WeChat, so it does not share the app's): same conventions as
// server/log.ts — level from LOG_LEVEL, JSON lines when NODE_ENV=production, pino-pretty otherwise — and the
// simulator's secrets (keys, the APIv3 key) redacted should they ever reach a log line.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type Level = (typeof LEVELS)[number];

const REDACT = ['apiv3Key', 'privateKeyPem', 'authorization', '*.apiv3Key', '*.privateKeyPem', '*.authorization', 'headers.authorization'];

function levelFromEnv(): Level {
  const value = process.env.LOG_LEVEL;
  return value && (LEVELS as readonly string[]).includes(value) ? (value as Level) : 'info';
}

export function createSimLogger(opts: { level?: Level; json?: boolean; destination?: pino.DestinationStream } = {}): Logger {
  const json = opts.json ?? process.env.NODE_ENV === 'production';
  const destination =
    opts.destination ??
    (json
      ? pino.destination({ fd: 1, sync: true })
      : pretty({ sync: true, colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  return pino({ level: opts.level ?? levelFromEnv(), base: { proc: 'wechatpay-simulator' }, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

let root: Logger | undefined;

/** The process's simulator logger, made on first use. */
export function simLogger(): Logger {
  return (root ??= createSimLogger());
}

/** The `(msg) => void` shape SimulatorOptions.log takes, backed by the pino logger. */
export function defaultSimLog(component = 'simulator'): (msg: string) => void {
  const logger = simLogger().child({ component });
  return (msg: string) => logger.info(msg);
}
