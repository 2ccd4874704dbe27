/**
 * `start_time_in_utc_format`: `YYYY-MM-DDTHH:mm:ss` in UTC (the definitions' date_format, which uses
 * strftime tokens). A trailing `Z` and fractional seconds are accepted too; offsets other than Z are
 * not, since the parameter is documented as UTC.
 */
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import customParseFormat from 'dayjs/plugin/customParseFormat.js';

dayjs.extend(utc);
dayjs.extend(customParseFormat);

const STRFTIME_TO_DAYJS: Record<string, string> = { '%Y': 'YYYY', '%m': 'MM', '%d': 'DD', '%H': 'HH', '%M': 'mm', '%S': 'ss' };

function strftimeToDayjs(fmt: string): string {
  return fmt.replace(/%[YmdHMS]/g, (t) => STRFTIME_TO_DAYJS[t] ?? t);
}

/** Epoch ms, or null when the text does not match the format. */
export function parseStartTime(text: string, strftimeFormat: string): number | null {
  const m = /^(.*?)(\.\d{1,6})?Z?$/.exec(text.trim());
  if (!m || m[1] === undefined) return null;
  const d = dayjs.utc(m[1], strftimeToDayjs(strftimeFormat), true);
  if (!d.isValid()) return null;
  const frac = m[2] ? Math.floor(Number(`0${m[2]}`) * 1000) : 0;
  return d.valueOf() + frac;
}

/** `2023-03-25T00:00:00` for log lines and state. */
export function formatStartTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
