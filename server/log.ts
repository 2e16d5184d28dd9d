// The one logger of web, worker and scripts (pino): levels, JSON lines in production, readable lines in
// development, secrets redacted by configuration. Child loggers carry the request id or the job id.
// The simulator stands for WeChat and keeps its own logger (simulator/log.ts) with the same conventions.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear (one level deep, and in headers). */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'apiv3Key',
  'privateKey',
  'privateKeyPem',
  'authorization',
  'cookie',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiv3Key',
  '*.privateKey',
  '*.privateKeyPem',
  '*.authorization',
  '*.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** JSON lines (production) or readable lines (development). */
  json?: boolean;
  /** Process name on every line (scanpay-web0, scanpay-worker...). */
  name?: string;
  destination?: pino.DestinationStream;
}

// The request or job being handled: every line logged while it runs carries its id, whichever module
// logs it (a domain function called by a job does not need to be handed a logger).
const context = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `fn` with `bindings` (e.g. `{ requestId }`, `{ queue, jobId }`) on every line it logs. */
export function withLogContext<T>(bindings: Record<string, unknown>, fn: () => T): T {
  const outer = context.getStore();
  return context.run(outer ? { ...outer, ...bindings } : bindings, fn);
}

/** The bindings of the request or job being handled, if any. */
export function logContext(): Record<string, unknown> | undefined {
  return context.getStore();
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const json = opts.json ?? process.env.NODE_ENV === 'production';
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { proc: opts.name ?? process.env.SCANPAY_PROCESS_NAME ?? 'scanpay', pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Errors keep their type and message; stacks only at debug, so a log line never dumps internals.
    serializers: { err: pino.stdSerializers.err },
    mixin: () => context.getStore() ?? {},
  };
  const destination =
    opts.destination ??
    (json
      ? pino.destination({ fd: 1, sync: true })
      : pretty({ sync: true, colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  return pino(options, destination);
}

function levelFromEnv(): LogLevel {
  const value = process.env.LOG_LEVEL;
  return value && (LOG_LEVELS as readonly string[]).includes(value) ? (value as LogLevel) : 'info';
}

const holder = globalThis as unknown as { __scanpayLog?: Logger };

/**
 * The process's root logger, made on first use. LOG_LEVEL is validated in server/env.ts with the other
 * settings; it is read here straight from the environment so a configuration error can itself be logged.
 */
export function rootLogger(): Logger {
  return (holder.__scanpayLog ??= createLogger({ level: levelFromEnv() }));
}

/** A logger for one part of the system: `log('notify').warn(...)`. */
export function log(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

/** An error as a log field: type and message, never a connection string. */
export function errorFields(err: unknown): { err: { type: string; message: string } } {
  const type = err instanceof Error ? err.name : typeof err;
  const message = (err instanceof Error ? err.message : describeThrown(err)).replace(/postgres(ql)?:\/\/\S+/g, '<database>').slice(0, 500);
  return { err: { type, message } };
}

/** A thrown value that is not an Error (pg-boss emits plain objects): its JSON, not "[object Object]". */
function describeThrown(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const m = (value as { message?: unknown }).message;
    if (typeof m === 'string') return m;
    try {
      return JSON.stringify(value).slice(0, 500);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
