/** How values read in tables: numbers briefly, JSON as JSON, nothing as an en dash. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return "\u2013";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : formatNumber(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

/** An ISO instant as people read it, in UTC (the store's clock). */
export function when(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}

export function shortVid(vid: string | null | undefined): string {
  return vid === null || vid === undefined ? "\u2013" : vid.slice(0, 7);
}

export function duration(seconds: number | null): string {
  if (seconds === null) return "\u2013";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function argsText(args: readonly { name: string; value: unknown }[]): string {
  return args.map((a) => `${a.name}=${typeof a.value === "string" ? a.value : JSON.stringify(a.value)}`).join(" ");
}
