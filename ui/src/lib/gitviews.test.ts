import { describe, expect, it } from 'vitest';
import {
  buildFileTree,
  comparePair,
  diffPickersToParams,
  evalsetOf,
  fileTestId,
  formatCostDelta,
  formatLatencyDelta,
  formatPctDelta,
  formatPpDelta,
  formatPValue,
  formatScoreDelta,
  parseDiffPickers,
  parseWordDiff,
  promptIdOf,
  sideBySide,
  textLines,
  type TreeFolder,
} from './gitviews';
import type { DiffLine, FileVersionView } from './types';

function file(path: string, modified = false) {
  return { path, kind: path.startsWith('prompts/') ? 'prompt' : 'evalset', modified };
}

describe('buildFileTree', () => {
  it('nests files in folders, folders first, and marks folders holding modified files', () => {
    const tree = buildFileTree([
      file('evalsets/support/evalset.yaml'),
      file('prompts/z.yaml'),
      file('prompts/support/reply.md', true),
      file('evalsets/support/cases/a.jsonl'),
    ]);
    expect(tree.map((node) => node.name)).toEqual(['evalsets', 'prompts']);
    const prompts = tree[1] as TreeFolder;
    expect(prompts.modified).toBe(true);
    expect(prompts.children.map((node) => `${node.type}:${node.path}`)).toEqual([
      'folder:prompts/support',
      'file:prompts/z.yaml',
    ]);
    const evalsets = tree[0] as TreeFolder;
    expect(evalsets.modified).toBe(false);
    const support = evalsets.children[0] as TreeFolder;
    expect(support.children.map((node) => node.name)).toEqual(['cases', 'evalset.yaml']);
  });
});

describe('file helpers', () => {
  it('derives prompt ids and eval sets from paths', () => {
    expect(promptIdOf('prompts/triage.yaml')).toBe('triage');
    expect(promptIdOf('prompts/support/reply.md')).toBe('support/reply');
    expect(promptIdOf('prompts/notes.txt')).toBeNull();
    expect(promptIdOf('evalsets/x/evalset.yaml')).toBeNull();
    expect(evalsetOf('evalsets/support/cases/a.jsonl')).toBe('support');
    expect(evalsetOf('prompts/a.yaml')).toBeNull();
    expect(fileTestId('prompts/support/reply.md')).toBe('file-prompts_support_reply_md');
  });

  it('splits text into numbered lines without a phantom last line', () => {
    expect(textLines('a\nb\n')).toEqual(['a', 'b']);
    expect(textLines('a\r\nb')).toEqual(['a', 'b']);
    expect(textLines('')).toEqual(['']);
  });
});

describe('comparePair', () => {
  const versions: FileVersionView[] = [
    { commit: null, id: 'worktree' },
    { commit: { sha: 'b'.repeat(40), short: 'bbbbbbb', author: 'A', time: '2026-01-02T00:00:00Z', summary: 'two' }, id: 'x' },
    { commit: { sha: 'a'.repeat(40), short: 'aaaaaaa', author: 'A', time: '2026-01-01T00:00:00Z', summary: 'one' }, id: 'y' },
  ];

  it('puts the older version first whatever the picking order', () => {
    expect(comparePair(versions, [0, 2])).toEqual({ from: versions[2], to: versions[0] });
    expect(comparePair(versions, [2, 1])).toEqual({ from: versions[2], to: versions[1] });
    expect(comparePair(versions, [1])).toBeNull();
  });
});

describe('sideBySide', () => {
  it('pairs a change block’s deletions with its insertions and keeps equal lines aligned', () => {
    const lines: DiffLine[] = [
      { kind: 'equal', old_no: 1, new_no: 1, text: 'a' },
      { kind: 'delete', old_no: 2, new_no: null, text: 'b' },
      { kind: 'delete', old_no: 3, new_no: null, text: 'c' },
      { kind: 'insert', old_no: null, new_no: 2, text: 'B' },
      { kind: 'equal', old_no: 4, new_no: 3, text: 'd' },
      { kind: 'insert', old_no: null, new_no: 4, text: 'e' },
    ];
    const rows = sideBySide(lines).map((row) => [
      row.left ? `${row.left.no}${row.left.kind[0]}${row.left.text}` : '-',
      row.right ? `${row.right.no}${row.right.kind[0]}${row.right.text}` : '-',
    ]);
    expect(rows).toEqual([
      ['1ea', '1ea'],
      ['2db', '2iB'],
      ['3dc', '-'],
      ['4ed', '3ed'],
      ['-', '4ie'],
    ]);
  });
});

describe('parseWordDiff', () => {
  it('splits plain, removed and added runs', () => {
    expect(parseWordDiff('Your refund [-takes-]{+will take+} 5 days')).toEqual([
      { kind: 'equal', text: 'Your refund ' },
      { kind: 'delete', text: 'takes' },
      { kind: 'insert', text: 'will take' },
      { kind: 'equal', text: ' 5 days' },
    ]);
  });

  it('keeps brackets that are not markers as text', () => {
    expect(parseWordDiff('see [docs] and {x} or [-1] then {+')).toEqual([
      { kind: 'equal', text: 'see [docs] and {x} or [-1] then {+' },
    ]);
    expect(parseWordDiff('[-a [1]-]{+b {2}+}')).toEqual([
      { kind: 'delete', text: 'a [1]' },
      { kind: 'insert', text: 'b {2}' },
    ]);
  });
});

describe('diff pickers', () => {
  it('defaults base to the previous commit and head to the working tree, leaving defaults out of the hash', () => {
    const pickers = parseDiffPickers(new URLSearchParams('evalset=support'));
    expect(pickers).toEqual({ evalset: 'support', base: 'HEAD~1', head: 'WORKTREE', replay: null, repeat: 1, all: false });
    expect(diffPickersToParams(pickers).toString()).toBe('evalset=support');
  });

  it('round-trips every picker and ignores malformed values', () => {
    const params = new URLSearchParams('evalset=s&base=main&head=v1.2&replay=0&repeat=3&show=all');
    expect(diffPickersToParams(parseDiffPickers(params)).toString()).toBe(params.toString());
    const bad = parseDiffPickers(new URLSearchParams('repeat=-2&replay=maybe&base=&show=x'));
    expect(bad.repeat).toBe(1);
    expect(bad.replay).toBeNull();
    expect(bad.base).toBe('HEAD~1');
    expect(bad.all).toBe(false);
  });
});

describe('delta formatting', () => {
  it('signs changes with a marker, not only a colour', () => {
    expect(formatPpDelta(0.92, 0.88)).toBe('−4 pp');
    expect(formatPpDelta(0.5, 0.625)).toBe('+12.5 pp');
    expect(formatPpDelta(0.5, 0.5)).toBe('±0 pp');
    expect(formatPpDelta(null, 0.5)).toBe('—');
    expect(formatPctDelta(0.01, 0.0112)).toBe('+12%');
    expect(formatPctDelta(2, 1)).toBe('−50%');
    expect(formatPctDelta(0, 1)).toBe('—');
    expect(formatScoreDelta(-0.1)).toBe('−0.10');
    expect(formatCostDelta(0.0012)).toBe('+$0.0012');
    expect(formatLatencyDelta(-120)).toBe('−120 ms');
    expect(formatPValue(0.03125)).toBe('p = 0.031');
    expect(formatPValue(0.0001)).toBe('p < 0.001');
  });
});
