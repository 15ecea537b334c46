import { describe, expect, it } from 'vitest';
import {
  addDays,
  changeDirection,
  costChartArgs,
  costFiltersToParams,
  costHref,
  costQuery,
  costRangeArgs,
  defaultCostFilters,
  formatChange,
  formatUsd,
  parseCostFilters,
  parseSegmentTitle,
  periodDays,
  rangeLabel,
  segmentTracesHref,
} from './cost';
import { hashParams } from './routes';

describe('cost filters in the hash', () => {
  it('leaves defaults out and reads back what it wrote', () => {
    expect(costHref(defaultCostFilters())).toBe('#/cost');

    const filters = defaultCostFilters();
    filters.range = '7d';
    filters.values.tenant = 'acme & co';
    filters.values.prompt = 'support/reply';
    filters.stack = 'model';
    filters.per = 'month';
    const href = costHref(filters);
    expect(href).toBe('#/cost?range=7d&tenant=acme+%26+co&prompt=support%2Freply&stack=model&per=month');
    expect(parseCostFilters(hashParams(href))).toEqual(filters);
  });

  it('treats since or until as a custom range and ignores malformed values', () => {
    const custom = parseCostFilters(new URLSearchParams('range=7d&since=2026-10-01&until=2026-10-31'));
    expect(custom.range).toBe('custom');
    expect(costFiltersToParams(custom).toString()).toBe('since=2026-10-01&until=2026-10-31');

    const bad = parseCostFilters(new URLSearchParams('range=2y&since=2026-02-30&stack=colour&per=week'));
    expect(bad).toEqual(defaultCostFilters());

    expect(parseCostFilters(new URLSearchParams('stack=')).stack).toBe('');
  });
});

describe('cost queries', () => {
  const now = new Date(2026, 9, 15, 13, 30);

  it('lets the backend pick the range by default and sends local days for presets and custom ranges', () => {
    const filters = defaultCostFilters();
    expect(costRangeArgs(filters, now)).toEqual({});

    filters.range = '7d';
    expect(costRangeArgs(filters, now)).toEqual({ since: '2026-10-09', until: '2026-10-16' });
    filters.range = '90d';
    expect(costRangeArgs(filters, now)).toEqual({ since: '2026-07-18', until: '2026-10-16' });

    filters.range = 'custom';
    filters.since = '2026-09-01';
    filters.until = '2026-09-30';
    expect(costRangeArgs(filters, now)).toEqual({ since: '2026-09-01', until: '2026-10-01' });
  });

  it('sends only the filters that are set, spans without a key as ""', () => {
    const filters = defaultCostFilters();
    expect(costQuery(filters, {}, { by: ['tenant'], top: 8 })).toEqual({ by: ['tenant'], top: 8 });

    filters.values.model = 'gpt-4o';
    filters.values.feature = '(none)';
    expect(costQuery(filters, { since: 'a', until: 'b' })).toEqual({
      since: 'a',
      until: 'b',
      filters: { model: 'gpt-4o', feature: '' },
    });
    expect(costChartArgs(filters, {}, 'dark', 900)).toEqual({
      by: 'tenant',
      per: 'day',
      theme: 'dark',
      width: 900,
      filters: { model: 'gpt-4o', feature: '' },
    });
    filters.stack = '';
    expect(costChartArgs(filters, {}, 'light', 700).by).toBeUndefined();
  });
});

describe('cost formatting', () => {
  it('shows the sign of a change in text, with a real minus', () => {
    expect(formatChange(12.46)).toBe('+12%');
    expect(formatChange(4.26)).toBe('+4.3%');
    expect(formatChange(-8)).toBe('−8%');
    expect(formatChange(0.01)).toBe('0%');
    expect(formatChange(null)).toBe('—');
    expect(changeDirection(3)).toBe('up');
    expect(changeDirection(-3)).toBe('down');
    expect(changeDirection(0.01)).toBe('flat');
    expect(changeDirection(null)).toBe('none');
  });

  it('keeps cents and groups thousands, and stays precise below a dollar', () => {
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(118.2)).toBe('$118.20');
    expect(formatUsd(-2)).toBe('-$2.00');
    expect(formatUsd(0.0123)).toBe('$0.0123');
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(null)).toBe('—');
  });

  it('labels a resolved range by its days, the exclusive end excluded', () => {
    expect(rangeLabel('2026-10-01T00:00:00Z', '2026-10-31T00:00:00Z')).toBe('2026-10-01 – 2026-10-30');
    expect(rangeLabel('2026-10-01T00:00:00+00:00', '2026-10-02T00:00:00+00:00')).toBe('2026-10-01');
    expect(rangeLabel('2026-10-01T00:00:00Z', '2026-10-05T12:00:00Z')).toBe('2026-10-01 – 2026-10-05');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });
});

describe('chart click-through', () => {
  const series = ['acme', 'a · b', 'other'];
  const periods = ['2026-10-03', '2026-10-04'];

  it('finds the segment a tooltip names', () => {
    expect(parseSegmentTitle('acme · 2026-10-03 · $12.34\ntotal $20.00', series, periods)).toEqual({
      series: 'acme',
      period: '2026-10-03',
    });
    expect(parseSegmentTitle('a · b · 2026-10-04 · $1', series, periods)).toEqual({
      series: 'a · b',
      period: '2026-10-04',
    });
    expect(parseSegmentTitle('globex · 2026-10-03 · $1', series, periods)).toBeNull();
    expect(parseSegmentTitle('acme · 2026-11-01 · $1', series, periods)).toBeNull();
    expect(parseSegmentTitle('No data', series, periods)).toBeNull();
  });

  it('covers the days of a period', () => {
    expect(periodDays('2026-10-03')).toEqual({ since: '2026-10-03', until: '2026-10-03' });
    expect(periodDays('2026-10-03T14')).toEqual({ since: '2026-10-03', until: '2026-10-03' });
    expect(periodDays('2026-02')).toEqual({ since: '2026-02-01', until: '2026-02-28' });
    expect(periodDays('2026-12')).toEqual({ since: '2026-12-01', until: '2026-12-31' });
    expect(periodDays('week 3')).toBeNull();
  });

  it('links to the trace list filtered by the group, the day and the filters it knows', () => {
    const filters = defaultCostFilters();
    filters.values.environment = 'production';
    filters.values.feature = 'search';
    expect(segmentTracesHref(filters, '2026-10-03', 'acme')).toBe(
      '#/traces?range=custom&since=2026-10-03&until=2026-10-03&tenant=acme&environment=production',
    );
    expect(segmentTracesHref(filters, '2026-10-03', 'other')).toBe(
      '#/traces?range=custom&since=2026-10-03&until=2026-10-03&environment=production',
    );
    filters.stack = 'feature';
    expect(segmentTracesHref(filters, '2026-10', 'search')).toBe(
      '#/traces?range=custom&since=2026-10-01&until=2026-10-31&environment=production',
    );
  });
});
