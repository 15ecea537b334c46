import { describe, expect, it } from 'vitest';
import { axisTicks, barGeometry, MIN_BAR_WIDTH_PERCENT, traceExtentMs } from './waterfall';
import type { SpanView } from './types';

describe('barGeometry', () => {
  it('positions a bar by offset and duration relative to the total', () => {
    expect(barGeometry(250, 500, 1000)).toEqual({ leftPercent: 25, widthPercent: 50 });
    expect(barGeometry(0, 1000, 1000)).toEqual({ leftPercent: 0, widthPercent: 100 });
  });

  it('gives instant spans a minimum visible width', () => {
    expect(barGeometry(500, 0, 1000)).toEqual({
      leftPercent: 50,
      widthPercent: MIN_BAR_WIDTH_PERCENT,
    });
    expect(barGeometry(100, 0.001, 1000).widthPercent).toBe(MIN_BAR_WIDTH_PERCENT);
  });

  it('keeps a minimum-width bar at the very end inside the track', () => {
    const bar = barGeometry(1000, 0, 1000);
    expect(bar.widthPercent).toBe(MIN_BAR_WIDTH_PERCENT);
    expect(bar.leftPercent + bar.widthPercent).toBeCloseTo(100);
  });

  it('clamps spans that start before or end after the trace', () => {
    expect(barGeometry(-50, 100, 1000)).toEqual({ leftPercent: 0, widthPercent: 10 });
    const late = barGeometry(900, 500, 1000);
    expect(late.leftPercent + late.widthPercent).toBeCloseTo(100);
    expect(late.widthPercent).toBeCloseTo(50);
  });

  it('puts every bar at the start of a zero-duration trace', () => {
    expect(barGeometry(0, 0, 0)).toEqual({ leftPercent: 0, widthPercent: MIN_BAR_WIDTH_PERCENT });
    expect(barGeometry(5, 3, 0)).toEqual({ leftPercent: 0, widthPercent: MIN_BAR_WIDTH_PERCENT });
  });

  it('treats non-finite input as zero rather than producing NaN', () => {
    const bar = barGeometry(Number.NaN, Number.POSITIVE_INFINITY, 100);
    expect(Number.isFinite(bar.leftPercent)).toBe(true);
    expect(Number.isFinite(bar.widthPercent)).toBe(true);
  });
});

describe('traceExtentMs', () => {
  const span = (offset_ms: number, duration_ms: number) => ({ offset_ms, duration_ms }) as SpanView;

  it('is the latest end of any span', () => {
    expect(traceExtentMs([span(0, 100), span(20, 300), span(250, 10)])).toBe(320);
  });

  it('is zero for no spans', () => {
    expect(traceExtentMs([])).toBe(0);
  });
});

describe('axisTicks', () => {
  it('spaces ticks evenly from zero to the total', () => {
    expect(axisTicks(1000)).toEqual([0, 250, 500, 750, 1000]);
    expect(axisTicks(90, 2)).toEqual([0, 45, 90]);
  });

  it('has a single tick for an empty trace', () => {
    expect(axisTicks(0)).toEqual([0]);
  });
});
