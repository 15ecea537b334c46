import { describe, expect, it } from 'vitest';
import { hashParams, parseRoute, sectionOf, traceHref } from './routes';

describe('parseRoute', () => {
  it('defaults to the trace list', () => {
    expect(parseRoute('')).toEqual({ name: 'traces' });
    expect(parseRoute('#')).toEqual({ name: 'traces' });
    expect(parseRoute('#/')).toEqual({ name: 'traces' });
  });

  it('recognises every section', () => {
    for (const name of ['traces', 'evals', 'prompts', 'cost', 'alerts', 'settings']) {
      expect(parseRoute(`#/${name}`)).toEqual({ name });
    }
  });

  it('reads a trace id, decoding it', () => {
    expect(parseRoute('#/traces/4bf92f3577b34da6a3ce929d0e0e4736')).toEqual({
      name: 'trace',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(parseRoute(traceHref('a/b c'))).toEqual({ name: 'trace', traceId: 'a/b c' });
  });

  it('reports unknown paths', () => {
    expect(parseRoute('#/nope')).toEqual({ name: 'not_found', path: 'nope' });
  });
});

describe('sectionOf', () => {
  it('highlights Traces for a single trace', () => {
    expect(sectionOf({ name: 'trace', traceId: 'x' })).toBe('traces');
    expect(sectionOf({ name: 'cost' })).toBe('cost');
    expect(sectionOf({ name: 'not_found', path: 'x' })).toBeNull();
  });
});

describe('route parameters', () => {
  it('routes a hash with parameters by its path', () => {
    expect(parseRoute('#/traces?tenant=acme&status=error')).toEqual({ name: 'traces' });
    expect(parseRoute('#/cost?x=1')).toEqual({ name: 'cost' });
    expect(parseRoute(traceHref('a?b'))).toEqual({ name: 'trace', traceId: 'a?b' });
  });

  it('reads the parameters after `?`', () => {
    expect(hashParams('#/traces?tenant=acme%20co&status=error').get('tenant')).toBe('acme co');
    expect(hashParams('#/traces').toString()).toBe('');
    expect(hashParams('').toString()).toBe('');
  });
});
