import { describe, expect, it } from 'vitest';
import {
  buildTraceQuery,
  defaultFilters,
  filtersToParams,
  hasActiveFilters,
  parseFilters,
  rangeBounds,
  sameFilters,
  traceListHref,
  type TraceFilters,
} from './filters';
import { hashParams, parseRoute } from './routes';

const NOW = new Date('2026-11-27T12:00:00.000Z');

function filters(overrides: Partial<TraceFilters>): TraceFilters {
  return { ...defaultFilters(), ...overrides };
}

function fromHref(href: string): TraceFilters {
  return parseFilters(hashParams(href));
}

describe('filters in the hash', () => {
  it('round-trips every filter through the hash', () => {
    const all = filters({
      search: 'refund policy',
      range: 'custom',
      since: '2026-11-01',
      until: '2026-11-30',
      tenant: 'acme & co',
      endpoint: '/v1/chat?x=1',
      model: 'gpt-4o',
      environment: 'production',
      status: 'error',
      sort: 'most_tokens',
      offset: 100,
    });

    const href = traceListHref(all);

    expect(href.startsWith('#/traces?')).toBe(true);
    expect(parseRoute(href)).toEqual({ name: 'traces' });
    expect(fromHref(href)).toEqual(all);
  });

  it('round-trips a preset range without dates', () => {
    const preset = filters({ range: '7d', status: 'ok' });
    expect(traceListHref(preset)).toBe('#/traces?range=7d&status=ok');
    expect(fromHref(traceListHref(preset))).toEqual(preset);
  });

  it('leaves defaults out of the hash', () => {
    expect(traceListHref(defaultFilters())).toBe('#/traces');
    expect(filtersToParams(filters({ sort: 'newest', offset: 0, range: 'all' })).toString()).toBe('');
  });

  it('reads a hand-written link', () => {
    expect(fromHref('#/traces?tenant=acme&status=error&since=2026-11-01')).toEqual(
      filters({ tenant: 'acme', status: 'error', range: 'custom', since: '2026-11-01' }),
    );
  });

  it('ignores values it does not know instead of sending them to the backend', () => {
    const parsed = fromHref(
      '#/traces?status=broken&sort=random&range=2y&since=yesterday&until=2026-02-30&offset=-5&colour=red',
    );
    expect(parsed).toEqual(defaultFilters());
  });

  it('drops custom dates when a preset range is chosen', () => {
    expect(fromHref('#/traces?range=24h&since=2026-11-01')).toEqual(filters({ range: '24h' }));
  });

  it('compares filters by what they mean', () => {
    expect(sameFilters(fromHref('#/traces?status=error&tenant=a'), fromHref('#/traces?tenant=a&status=error'))).toBe(
      true,
    );
    expect(sameFilters(filters({ tenant: 'a' }), filters({ tenant: 'b' }))).toBe(false);
  });

  it('counts only narrowing filters as active', () => {
    expect(hasActiveFilters(filters({ sort: 'slowest', offset: 50 }))).toBe(false);
    expect(hasActiveFilters(filters({ environment: 'staging' }))).toBe(true);
    expect(hasActiveFilters(filters({ range: '1h' }))).toBe(true);
  });
});

describe('the traces_list query', () => {
  it('holds only paging when nothing is filtered', () => {
    expect(buildTraceQuery(defaultFilters(), NOW, 50)).toEqual({ limit: 50, offset: 0 });
  });

  it('omits every key that is not set', () => {
    const query = buildTraceQuery(filters({ tenant: 'acme', status: 'error' }), NOW, 50);

    expect(query).toEqual({ limit: 50, offset: 0, tenant: 'acme', status: 'error' });
    expect(Object.keys(query).sort()).toEqual(['limit', 'offset', 'status', 'tenant']);
    expect(JSON.stringify(query)).not.toContain('null');
    expect(JSON.stringify(query)).not.toContain('""');
  });

  it('sends every filter that is set', () => {
    const query = buildTraceQuery(
      filters({
        search: 'refund',
        range: '24h',
        tenant: 't',
        endpoint: '/chat',
        model: 'm',
        environment: 'prod',
        status: 'ok',
        sort: 'slowest',
        offset: 150,
      }),
      NOW,
      50,
    );

    expect(query).toEqual({
      limit: 50,
      offset: 150,
      search: 'refund',
      since: '2026-11-26T12:00:00.000Z',
      tenant: 't',
      endpoint: '/chat',
      model: 'm',
      environment: 'prod',
      status: 'ok',
      sort: 'slowest',
    });
  });

  it('counts preset ranges back from now', () => {
    expect(rangeBounds(filters({ range: '1h' }), NOW)).toEqual({ since: '2026-11-27T11:00:00.000Z' });
    expect(rangeBounds(filters({ range: '30d' }), NOW)).toEqual({ since: '2026-10-28T12:00:00.000Z' });
    expect(rangeBounds(filters({ range: 'all' }), NOW)).toEqual({});
  });

  it('sends custom days as local midnights, the last day included', () => {
    const bounds = rangeBounds(filters({ range: 'custom', since: '2026-11-01', until: '2026-11-30' }), NOW);

    expect(bounds.since).toBe(new Date(2026, 10, 1).toISOString());
    expect(bounds.until).toBe(new Date(2026, 11, 1).toISOString());
    expect(rangeBounds(filters({ range: 'custom', since: '2026-11-01' }), NOW)).toEqual({
      since: new Date(2026, 10, 1).toISOString(),
    });
  });
});
