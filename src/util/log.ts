// A small leveled logger. Lines go to stderr as `<iso time> <LEVEL> [<name>] message`.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogSink = (level: Exclude<LogLevel, 'silent'>, name: string, message: string) => void;

let globalLevel: LogLevel = (process.env.EDDY_LOG_LEVEL as LogLevel | undefined) ?? 'info';
let sink: LogSink = (level, name, message) => {
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} [${name}] ${message}\n`);
};

export function setLogLevel(level: LogLevel): void {
  globalLevel = level;
}

export function getLogLevel(): LogLevel {
  return globalLevel;
}

/** Replaces where log lines go (tests capture them); returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const prev = sink;
  sink = next;
  return prev;
}

export class Logger {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  private emit(level: Exclude<LogLevel, 'silent'>, message: string): void {
    if (RANK[level] < RANK[globalLevel]) return;
    sink(level, this.name, message);
  }
  debug(message: string): void {
    this.emit('debug', message);
  }
  info(message: string): void {
    this.emit('info', message);
  }
  warn(message: string): void {
    this.emit('warn', message);
  }
  error(message: string): void {
    this.emit('error', message);
  }
  isDebugEnabled(): boolean {
    return RANK.debug >= RANK[globalLevel];
  }
}

export function logger(name: string): Logger {
  return new Logger(name);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
