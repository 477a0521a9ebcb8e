/**
 * Structured logs: one JSON object per line on stderr, `{"time":ISO-8601,"level":...,"msg":...}`
 * followed by the event's own fields at the top level (a field named time, level or msg is
 * written as field_time, field_level, field_msg so it cannot hide the envelope).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

const RESERVED = new Set(['time', 'level', 'msg']);

export function formatLogLine(time: Date, level: LogLevel, msg: string, fields: LogFields = {}): string {
  const record: Record<string, unknown> = { time: time.toISOString(), level, msg };
  for (const [k, v] of Object.entries(fields)) record[RESERVED.has(k) ? `field_${k}` : k] = v;
  return `${JSON.stringify(record)}\n`;
}

export class JsonLineLogger implements Logger {
  constructor(
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
    private readonly clock: () => Date = () => new Date(),
  ) {}

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    this.write(formatLogLine(this.clock(), level, msg, fields));
  }
}
