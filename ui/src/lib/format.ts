// Display formatting shared by the screens. Pure functions, no DOM.

const PLACEHOLDER = '—';

/** Rounds to at most `decimals` places and drops trailing zeros: 1.50 -> "1.5". */
function trimmed(value: number, decimals: number): string {
  return String(Number(value.toFixed(decimals)));
}

/**
 * Human-readable duration from milliseconds, with precision that shrinks as
 * the value grows: "0.4 ms", "12 ms", "1.25 s", "2 m 5 s", "1 h 3 m".
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return PLACEHOLDER;
  const value = Math.max(0, ms);

  if (value < 10) return `${trimmed(value, 1)} ms`;
  if (Math.round(value) < 1000) return `${Math.round(value)} ms`;

  const seconds = value / 1000;
  if (Number(seconds.toFixed(2)) < 10) return `${trimmed(seconds, 2)} s`;
  if (Number(seconds.toFixed(1)) < 60) return `${trimmed(seconds, 1)} s`;

  const totalSeconds = Math.round(seconds);
  if (totalSeconds < 3600) {
    const minutes = Math.floor(totalSeconds / 60);
    return `${minutes} m ${totalSeconds % 60} s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const hours = Math.floor(totalMinutes / 60);
  return `${hours} h ${totalMinutes % 60} m`;
}

/** Compact token count: "842", "12.3k", "456k", "1.2M". */
export function formatTokens(count: number | null | undefined): string {
  if (count === null || count === undefined || !Number.isFinite(count)) return PLACEHOLDER;
  const value = Math.max(0, Math.round(count));
  if (value < 1000) return String(value);
  if (value < 100_000) return `${trimmed(value / 1000, 1)}k`;
  if (value < 999_500) return `${Math.round(value / 1000)}k`;
  if (value < 100_000_000) return `${trimmed(value / 1_000_000, 1)}M`;
  return `${Math.round(value / 1_000_000)}M`;
}

/** "in / out" token pair; a placeholder when neither side is known or used. */
export function formatTokenPair(
  input: number | null | undefined,
  output: number | null | undefined,
): string {
  const noInput = input === null || input === undefined || input === 0;
  const noOutput = output === null || output === undefined || output === 0;
  if (noInput && noOutput) return PLACEHOLDER;
  return `${formatTokens(input ?? 0)} / ${formatTokens(output ?? 0)}`;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** Local date and time, "2026-11-27 05:16:30"; optionally with milliseconds. */
export function formatTimestamp(iso: string, withMilliseconds = false): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  let time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (withMilliseconds) time += `.${pad(date.getMilliseconds(), 3)}`;
  return `${day} ${time}`;
}

/** Offset from the start of the trace, "+12 ms". */
export function formatOffset(ms: number): string {
  return `+${formatDuration(ms)}`;
}

export interface Payload {
  text: string;
  isJson: boolean;
}

/**
 * Prompt and completion payloads are often JSON (message arrays, tool calls);
 * show those indented, and everything else verbatim.
 */
export function formatPayload(raw: string): Payload {
  const trimmedRaw = raw.trim();
  if (trimmedRaw.startsWith('{') || trimmedRaw.startsWith('[')) {
    try {
      return { text: JSON.stringify(JSON.parse(trimmedRaw), null, 2), isJson: true };
    } catch {
      // Looked like JSON but is not; fall through to plain text.
    }
  }
  return { text: raw, isJson: false };
}

/** Attribute values arrive as arbitrary JSON; strings are shown without quotes. */
export function formatAttributeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value, null, value !== null && typeof value === 'object' ? 2 : undefined);
}

/** "1 trace", "3 traces". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** US dollars with precision that fits small amounts: "$1.25", "$0.0123", "$0.000042". */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return PLACEHOLDER;
  const abs = Math.abs(usd);
  if (abs === 0) return '$0';
  const decimals = abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  const text = trimmed(abs, decimals);
  if (text === '0') return `<$${(1 / 10 ** decimals).toFixed(decimals)}`;
  return `${usd < 0 ? '-' : ''}$${text}`;
}

/** File sizes: "512 B", "12.3 KB", "4.1 MB" (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return PLACEHOLDER;
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${trimmed(value, value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Exact counts with thousands separators: "12,345". */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** How long ago, compactly: "just now", "5 min ago", "3 h ago", "2 d ago"; a date after 30 days. */
export function formatRelativeTime(iso: string, now: Date): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days <= 30) return `${days} d ago`;
  return formatTimestamp(iso).slice(0, 10);
}
