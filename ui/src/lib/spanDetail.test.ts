import { describe, expect, it } from 'vitest';
import {
  attributionRows,
  finishWarning,
  isLongText,
  prettyArguments,
  roleStyle,
  toolCallLinks,
  usageRows,
} from './spanDetail';

describe('span detail helpers', () => {
  it('styles the roles providers use', () => {
    expect(['system', 'developer', 'user', 'Human', 'assistant', 'model', 'tool', 'function', 'critic'].map(roleStyle)).toEqual([
      'system',
      'system',
      'user',
      'user',
      'assistant',
      'assistant',
      'tool',
      'tool',
      'other',
    ]);
  });

  it('lists known usage keys only, parts after their whole', () => {
    expect(
      usageRows({ input: 100, output: 0, cache_read: null, cache_write: 20, reasoning: null }).map((row) => [
        row.key,
        row.value,
        row.part,
      ]),
    ).toEqual([
      ['input', 100, false],
      ['cache_write', 20, true],
      ['output', 0, false],
    ]);
  });

  it('keeps attribution keys with a value, in order', () => {
    expect(
      attributionRows({
        tenant: null,
        endpoint: '/x',
        feature: '',
        user: 'u1',
        session: null,
        environment: null,
        release: '1.2',
      }),
    ).toEqual([
      ['endpoint', '/x'],
      ['user', 'u1'],
      ['release', '1.2'],
    ]);
  });

  it('flags finish reasons that cut output short', () => {
    expect(finishWarning('length')).toContain('token limit');
    expect(finishWarning('content_filter')).toContain('content filter');
    expect(finishWarning('stop')).toBeNull();
    expect(finishWarning(null)).toBeNull();
  });

  it('pretty-prints JSON arguments and keeps other text', () => {
    expect(prettyArguments('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyArguments('{"a":')).toBe('{"a":');
  });

  it('links tool calls and results across input and output messages', () => {
    const { calls, results } = toolCallLinks(
      [
        { role: 'assistant', tool_calls: [{ id: 'c1', name: 'search' }, { name: 'no_id' }] },
        { role: 'tool', tool_call_id: 'c1', content: 'found' },
      ],
      [{ role: 'assistant', tool_calls: [{ id: 'c2', name: 'book' }] }],
    );
    expect(calls.get('c1')).toEqual({ name: 'search', list: 'input', message: 0, call: 0 });
    expect(calls.get('c2')).toEqual({ name: 'book', list: 'output', message: 0, call: 0 });
    expect(calls.size).toBe(2);
    expect(results.get('c1')).toEqual({ list: 'input', message: 1 });
    expect(results.has('c2')).toBe(false);
  });

  it('calls text long by characters or by lines', () => {
    expect(isLongText('short')).toBe(false);
    expect(isLongText('x'.repeat(601))).toBe(true);
    expect(isLongText('a\n'.repeat(12))).toBe(true);
    expect(isLongText('a\n'.repeat(10))).toBe(false);
  });
});
