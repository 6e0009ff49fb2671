import pino, { type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

// The process's logger (pino): JSON lines in production (LOG_FORMAT=json, the default when stdout
// is not a terminal), readable lines in a terminal. Lines about a run carry runId (and step,
// attempt, callId, tenant when known). Credentials never reach a line: request headers are not
// logged, query values are (access-log.ts), and known secret fields are censored here too.

export type { Logger };
export type LogFormat = 'json' | 'pretty';
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

/** Fields that may hold a secret, wherever they appear in what is logged. */
const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'streamToken',
  '*.streamToken',
];

export function defaultLogFormat(stream: NodeJS.WritableStream = process.stdout): LogFormat {
  return (stream as NodeJS.WriteStream).isTTY ? 'pretty' : 'json';
}

export function createLogger(settings: LogSettings, destination: NodeJS.WritableStream = process.stdout): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  if (settings.format === 'pretty') {
    const colorize = Boolean((destination as NodeJS.WriteStream).isTTY);
    return pino(options, pretty({ destination, colorize, sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, destination);
}

/** The callback shape older modules take (`log(message, error?)`), as error lines of a logger. */
export function errorLog(logger: Logger): (message: string, error?: unknown) => void {
  return (message, error) => (error === undefined ? logger.error(message) : logger.error({ err: error }, message));
}

/** Plain progress lines (`log(line)`) as info lines. */
export function infoLog(logger: Logger): (line: string) => void {
  return (line) => logger.info(line);
}
