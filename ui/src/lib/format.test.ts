import { describe, expect, it } from 'vitest';
import {
  formatAttributeValue,
  formatBytes,
  formatCost,
  formatCount,
  formatDuration,
  formatPayload,
  formatRelativeTime,
  formatTimestamp,
  formatTokenPair,
  formatTokens,
  plural,
} from './format';

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [0.4, '0.4 ms'],
    [0.04, '0 ms'],
    [3, '3 ms'],
    [4.56, '4.6 ms'],
    [12, '12 ms'],
    [12.4, '12 ms'],
    [999.4, '999 ms'],
    [999.6, '1 s'],
    [1000, '1 s'],
    [1250, '1.25 s'],
    [9999, '10 s'],
    [12_345, '12.3 s'],
    [59_960, '1 m 0 s'],
    [125_000, '2 m 5 s'],
    [3_599_400, '59 m 59 s'],
    [3_780_000, '1 h 3 m'],
  ])('%d ms -> %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it('shows a placeholder for missing or invalid values and clamps negatives', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
    expect(formatDuration(-5)).toBe('0 ms');
  });
});

describe('formatTokens', () => {
  it.each([
    [0, '0'],
    [842, '842'],
    [999, '999'],
    [1000, '1k'],
    [1234, '1.2k'],
    [12_345, '12.3k'],
    [99_960, '100k'],
    [456_789, '457k'],
    [999_600, '1M'],
    [1_234_567, '1.2M'],
    [250_000_000, '250M'],
  ])('%d -> %s', (count, expected) => {
    expect(formatTokens(count)).toBe(expected);
  });

  it('shows a placeholder when the count is unknown', () => {
    expect(formatTokens(null)).toBe('—');
  });

  it('formats an in/out pair, with a placeholder when nothing was used', () => {
    expect(formatTokenPair(1234, 56)).toBe('1.2k / 56');
    expect(formatTokenPair(0, 7)).toBe('0 / 7');
    expect(formatTokenPair(null, 7)).toBe('0 / 7');
    expect(formatTokenPair(0, 0)).toBe('—');
    expect(formatTokenPair(null, null)).toBe('—');
  });
});

describe('formatTimestamp', () => {
  it('renders local time, independent of the machine time zone', () => {
    const local = new Date(2026, 10, 27, 4, 16, 30, 123);
    expect(formatTimestamp(local.toISOString())).toBe('2026-11-27 04:16:30');
    expect(formatTimestamp(local.toISOString(), true)).toBe('2026-11-27 04:16:30.123');
  });

  it('returns the input unchanged when it is not a date', () => {
    expect(formatTimestamp('yesterday-ish')).toBe('yesterday-ish');
  });
});

describe('formatPayload', () => {
  it('pretty-prints JSON objects and arrays', () => {
    const payload = formatPayload('[{"role":"user","content":"hi"}]');
    expect(payload.isJson).toBe(true);
    expect(payload.text).toBe('[\n  {\n    "role": "user",\n    "content": "hi"\n  }\n]');
  });

  it('keeps plain text and broken JSON verbatim', () => {
    expect(formatPayload('Hello, world')).toEqual({ text: 'Hello, world', isJson: false });
    expect(formatPayload('{not json')).toEqual({ text: '{not json', isJson: false });
    expect(formatPayload('42')).toEqual({ text: '42', isJson: false });
  });
});

describe('formatAttributeValue', () => {
  it('shows strings bare and everything else as JSON', () => {
    expect(formatAttributeValue('gpt-4o')).toBe('gpt-4o');
    expect(formatAttributeValue(0.7)).toBe('0.7');
    expect(formatAttributeValue(true)).toBe('true');
    expect(formatAttributeValue(null)).toBe('null');
    expect(formatAttributeValue(['a', 'b'])).toBe('[\n  "a",\n  "b"\n]');
  });
});

describe('plural', () => {
  it('uses the singular only for exactly one', () => {
    expect(plural(0, 'trace')).toBe('0 traces');
    expect(plural(1, 'trace')).toBe('1 trace');
    expect(plural(1234, 'trace')).toBe('1234 traces');
  });
});

describe('formatCost', () => {
  it.each([
    [null, '—'],
    [0, '$0'],
    [1.256, '$1.26'],
    [0.0123456, '$0.0123'],
    [0.00425, '$0.00425'],
    [0.0000001, '<$0.000001'],
  ])('%s -> %s', (usd, expected) => {
    expect(formatCost(usd)).toBe(expected);
  });
});

describe('formatBytes and formatCount', () => {
  it('formats sizes in powers of 1024', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25 MB');
  });

  it('separates thousands', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});

describe('formatRelativeTime', () => {
  const now = new Date('2026-11-27T12:00:00Z');

  it('counts back from now in the largest fitting unit', () => {
    expect(formatRelativeTime('2026-11-27T11:59:40Z', now)).toBe('just now');
    expect(formatRelativeTime('2026-11-27T11:55:00Z', now)).toBe('5 min ago');
    expect(formatRelativeTime('2026-11-27T09:00:00Z', now)).toBe('3 h ago');
    expect(formatRelativeTime('2026-11-25T12:00:00Z', now)).toBe('2 d ago');
  });

  it('falls back to the date for old times and to the input when it is not a time', () => {
    expect(formatRelativeTime('2026-09-01T12:00:00Z', now)).toMatch(/^2026-09-0[12]$/);
    expect(formatRelativeTime('yesterday', now)).toBe('yesterday');
  });
});
