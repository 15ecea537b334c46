import { describe, expect, it } from 'vitest';
import {
  evalDiffHref,
  evalRunHref,
  evalTrendHref,
  hashParams,
  parseRoute,
  promptFileHref,
  sectionOf,
  traceHref,
} from './routes';

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

  it('reads an eval run id, with or without parameters', () => {
    expect(parseRoute('#/evals/run/5f0c7f4e-1')).toEqual({ name: 'eval_run', runId: '5f0c7f4e-1' });
    expect(parseRoute('#/evals/run/r1?outcome=failures&tag=smoke')).toEqual({ name: 'eval_run', runId: 'r1' });
    expect(parseRoute(evalRunHref('a b/c'))).toEqual({ name: 'eval_run', runId: 'a b/c' });
    expect(parseRoute('#/evals/run')).toEqual({ name: 'not_found', path: 'evals/run' });
    expect(parseRoute('#/evals/other/x')).toEqual({ name: 'not_found', path: 'evals/other/x' });
  });

  it('builds eval run links with their parameters', () => {
    expect(evalRunHref('r1')).toBe('#/evals/run/r1');
    expect(evalRunHref('r1', new URLSearchParams({ outcome: 'errors' }))).toBe('#/evals/run/r1?outcome=errors');
    expect(evalRunHref('r1', new URLSearchParams())).toBe('#/evals/run/r1');
  });

  it('routes the diff, trend and prompt file views, keeping their parameters in the hash', () => {
    expect(parseRoute(evalDiffHref(new URLSearchParams({ evalset: 'support', base: 'HEAD~1' })))).toEqual({
      name: 'eval_diff',
    });
    expect(parseRoute('#/evals/diff')).toEqual({ name: 'eval_diff' });
    expect(parseRoute(evalTrendHref('a b'))).toEqual({ name: 'eval_trend' });
    expect(hashParams(evalTrendHref('a b&c')).get('evalset')).toBe('a b&c');
    const file = promptFileHref('prompts/support/reply.md', new URLSearchParams({ tab: 'history' }));
    expect(parseRoute(file)).toEqual({ name: 'prompt_file' });
    expect(hashParams(file).get('path')).toBe('prompts/support/reply.md');
    expect(hashParams(file).get('tab')).toBe('history');
    expect(parseRoute('#/prompts/other')).toEqual({ name: 'not_found', path: 'prompts/other' });
    expect(parseRoute('#/evals/diff/x')).toEqual({ name: 'not_found', path: 'evals/diff/x' });
  });

  it('reports unknown paths', () => {
    expect(parseRoute('#/nope')).toEqual({ name: 'not_found', path: 'nope' });
  });
});

describe('sectionOf', () => {
  it('highlights Traces for a single trace', () => {
    expect(sectionOf({ name: 'trace', traceId: 'x' })).toBe('traces');
    expect(sectionOf({ name: 'cost' })).toBe('cost');
    expect(sectionOf({ name: 'eval_run', runId: 'r' })).toBe('evals');
    expect(sectionOf({ name: 'eval_diff' })).toBe('evals');
    expect(sectionOf({ name: 'eval_trend' })).toBe('evals');
    expect(sectionOf({ name: 'prompt_file' })).toBe('prompts');
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
