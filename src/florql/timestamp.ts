/**
 * ISO-8601 timestamps as FlorQL reads them: `2026-01-02`, `2026-01-02T03:04:05Z`, with an optional
 * fraction and zone offset, `T` or a space between date and time. No zone means UTC, so a query means
 * the same on every machine (run timestamps are recorded in UTC).
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

const MS_PER_MINUTE = 60_000;
/** The Gregorian calendar repeats every 400 years (146097 days); shifting by it keeps Date.UTC away from its 0–99 → 1900s rule. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** Milliseconds since the epoch, or null when `text` is not a valid timestamp (e.g. February 30). */
export function instantOf(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  const offset = zoneOffsetMinutes(m[8]);
  if (offset === null) return null;
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - FOUR_CENTURIES_MS - offset * MS_PER_MINUTE;
}

/** The timestamp as an ISO-8601 UTC string with milliseconds, or null when it is not valid. */
export function parseTimestamp(text: string): string | null {
  const instant = instantOf(text);
  if (instant === null) return null;
  // A zone offset can move year 9999 out of four digits, which ISO-8601 text would then lose; and
  // PostgreSQL has no year 0 (1 BC), nor earlier ones in ISO-8601 form.
  const iso = new Date(instant).toISOString();
  return /^\d{4}-/.test(iso) && !iso.startsWith("0000-") ? iso : null;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function zoneOffsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone.toUpperCase() === "Z") return 0;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || "0");
  if (hours > 23 || minutes > 59) return null;
  return (zone[0] === "-" ? -1 : 1) * (hours * 60 + minutes);
}
