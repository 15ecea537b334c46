// Geometry of the span waterfall. Percentages are relative to the trace's
// total duration so the chart fits any width.

import type { SpanView } from './types';

/** Narrowest bar drawn, so that instant spans stay visible and clickable. */
export const MIN_BAR_WIDTH_PERCENT = 0.5;

export interface BarGeometry {
  leftPercent: number;
  widthPercent: number;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function finiteOrZero(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/**
 * Position of a span's bar. A zero-length trace puts every bar at the start;
 * bars never overflow the track, even when clock skew puts a span's end past
 * the trace's.
 */
export function barGeometry(offsetMs: number, durationMs: number, totalMs: number): BarGeometry {
  const total = finiteOrZero(totalMs);
  if (total <= 0) return { leftPercent: 0, widthPercent: MIN_BAR_WIDTH_PERCENT };

  let left = clamp((finiteOrZero(offsetMs) / total) * 100, 0, 100);
  const width = clamp((finiteOrZero(durationMs) / total) * 100, MIN_BAR_WIDTH_PERCENT, 100);
  if (left + width > 100) left = 100 - width;
  return { leftPercent: left, widthPercent: width };
}

/** End of the latest span, measured from the trace start. */
export function traceExtentMs(spans: readonly SpanView[]): number {
  let extent = 0;
  for (const span of spans) {
    extent = Math.max(extent, finiteOrZero(span.offset_ms) + finiteOrZero(span.duration_ms));
  }
  return extent;
}

/** Evenly spaced time-axis labels: offsets in ms from 0 to total inclusive. */
export function axisTicks(totalMs: number, intervals = 4): number[] {
  const total = Math.max(0, finiteOrZero(totalMs));
  if (total === 0 || intervals < 1) return [0];
  return Array.from({ length: intervals + 1 }, (_, index) => (total * index) / intervals);
}
