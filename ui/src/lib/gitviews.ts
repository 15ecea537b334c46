// What the Prompts section, the eval diff view and the trend view show, derived from the
// backend's shapes. Pure functions, no DOM. The diff view's pickers live in the URL hash
// (`#/evals/diff?evalset=support&base=HEAD~1&head=WORKTREE&replay=0&repeat=3`).

import { formatCost, formatDuration } from './format';
import { testIdPart } from './evals';
import { WORKTREE, type CaseChange, type CaseDiff, type DiffLine, type FileVersionView, type WorkspaceFile } from './types';

// ---------------------------------------------------------------------------
// File tree.

export interface TreeFolder {
  type: 'folder';
  name: string;
  /** `prompts/support`. */
  path: string;
  children: TreeNode[];
  /** Some file below has uncommitted changes. */
  modified: boolean;
}

export interface TreeFile {
  type: 'file';
  name: string;
  path: string;
  file: WorkspaceFile;
}

export type TreeNode = TreeFolder | TreeFile;

/** Folders first, then files, each by name. */
function sortNodes(nodes: TreeNode[]): void {
  nodes.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'folder' ? -1 : 1));
  for (const node of nodes) if (node.type === 'folder') sortNodes(node.children);
}

/** The files as nested folders (`prompts/`, `evalsets/`, ...). */
export function buildFileTree(files: WorkspaceFile[]): TreeNode[] {
  const roots: TreeNode[] = [];
  const folders = new Map<string, TreeFolder>();
  for (const file of files) {
    const parts = file.path.split('/').filter((part) => part !== '');
    let siblings = roots;
    let path = '';
    for (const part of parts.slice(0, -1)) {
      path = path === '' ? part : `${path}/${part}`;
      let folder = folders.get(path);
      if (!folder) {
        folder = { type: 'folder', name: part, path, children: [], modified: false };
        folders.set(path, folder);
        siblings.push(folder);
      }
      if (file.modified) folder.modified = true;
      siblings = folder.children;
    }
    siblings.push({ type: 'file', name: parts.at(-1) ?? file.path, path: file.path, file });
  }
  sortNodes(roots);
  return roots;
}

/** `file-PATH`, selector-safe. */
export function fileTestId(path: string): string {
  return `file-${testIdPart(path)}`;
}

/** A prompt file's id: its path under `prompts/` without the extension; null for other files. */
export function promptIdOf(path: string): string | null {
  const match = /^prompts\/(.+)\.(ya?ml|md)$/.exec(path);
  return match?.[1] ?? null;
}

/** The eval set a file under `evalsets/NAME/` belongs to. */
export function evalsetOf(path: string): string | null {
  const match = /^evalsets\/([^/]+)\//.exec(path);
  return match?.[1] ?? null;
}

/** A text's lines, for numbering (a final newline does not start another line). */
export function textLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return lines;
}

// ---------------------------------------------------------------------------
// History and file diffs.

/** The ref `file_get` and `file_diff` take for a version: its commit, or null for the working tree. */
export function versionRef(version: FileVersionView): string | null {
  return version.commit?.sha ?? null;
}

/** The two versions to compare, older first, whatever order they were picked in (newest-first indexes). */
export function comparePair(
  versions: FileVersionView[],
  picked: number[],
): { from: FileVersionView; to: FileVersionView } | null {
  if (picked.length !== 2) return null;
  const [newer, older] = [...picked].sort((a, b) => a - b);
  const from = versions[older ?? -1];
  const to = versions[newer ?? -1];
  return from && to ? { from, to } : null;
}

export interface SideCell {
  no: number | null;
  text: string;
  kind: DiffLine['kind'];
}

export interface SideRow {
  left: SideCell | null;
  right: SideCell | null;
}

/** A line diff as rows of old | new: equal lines side by side, a change's deletions beside its insertions. */
export function sideBySide(lines: DiffLine[]): SideRow[] {
  const rows: SideRow[] = [];
  let deleted: SideCell[] = [];
  let inserted: SideCell[] = [];
  const flush = (): void => {
    for (let i = 0; i < Math.max(deleted.length, inserted.length); i++) {
      rows.push({ left: deleted[i] ?? null, right: inserted[i] ?? null });
    }
    deleted = [];
    inserted = [];
  };
  for (const line of lines) {
    if (line.kind === 'delete') deleted.push({ no: line.old_no, text: line.text, kind: 'delete' });
    else if (line.kind === 'insert') inserted.push({ no: line.new_no, text: line.text, kind: 'insert' });
    else {
      flush();
      rows.push({
        left: { no: line.old_no, text: line.text, kind: 'equal' },
        right: { no: line.new_no, text: line.text, kind: 'equal' },
      });
    }
  }
  flush();
  return rows;
}

// ---------------------------------------------------------------------------
// Word diffs: `[-removed-]{+added+}`.

export interface WordSegment {
  kind: 'equal' | 'delete' | 'insert';
  text: string;
}

/**
 * Splits a word diff into plain, removed and added runs. A `[-` or `{+` without its closing
 * `-]` or `+}` is plain text, so literal brackets in an output stay as they are.
 */
export function parseWordDiff(diff: string): WordSegment[] {
  const segments: WordSegment[] = [];
  let plain = '';
  const push = (kind: WordSegment['kind'], text: string): void => {
    if (text === '') return;
    const last = segments.at(-1);
    if (last && last.kind === kind) last.text += text;
    else segments.push({ kind, text });
  };
  let i = 0;
  while (i < diff.length) {
    const open = diff.startsWith('[-', i) ? '-]' : diff.startsWith('{+', i) ? '+}' : null;
    const close = open === null ? -1 : diff.indexOf(open, i + 2);
    if (open !== null && close !== -1) {
      push('equal', plain);
      plain = '';
      push(open === '-]' ? 'delete' : 'insert', diff.slice(i + 2, close));
      i = close + 2;
    } else {
      plain += diff[i];
      i++;
    }
  }
  push('equal', plain);
  return segments;
}

// ---------------------------------------------------------------------------
// Eval diff.

/** Icons that carry a change's meaning beside its colour. */
export const CHANGE_TEXT: Record<CaseChange, { icon: string; label: string; tone: 'bad' | 'good' | 'neutral' }> = {
  regressed: { icon: '▼', label: 'Regressed', tone: 'bad' },
  errored: { icon: '⚠', label: 'Errored', tone: 'bad' },
  fixed: { icon: '▲', label: 'Fixed', tone: 'good' },
  still_failing: { icon: '✗', label: 'Still failing', tone: 'bad' },
  new: { icon: '+', label: 'New', tone: 'neutral' },
  removed: { icon: '−', label: 'Removed', tone: 'neutral' },
  unchanged: { icon: '=', label: 'Unchanged', tone: 'neutral' },
};

/** `diff-row-CHANGE-CASEID`, selector-safe. */
export function diffRowTestId(row: CaseDiff): string {
  return `diff-row-${row.change}-${testIdPart(row.case_id)}`;
}

/** The rows to show, in the backend's order (regressions first); unchanged ones only on request. */
export function visibleCases(cases: CaseDiff[], onlyDifferences: boolean): CaseDiff[] {
  return onlyDifferences ? cases.filter((row) => row.change !== 'unchanged') : cases;
}

export interface DiffPickers {
  evalset: string;
  base: string;
  head: string;
  /** Null: the default (on when the eval set has a cassette). */
  replay: boolean | null;
  /** Repeats per case; 1 by default. */
  repeat: number;
  /** Show unchanged cases too. */
  all: boolean;
}

export const DEFAULT_BASE = 'HEAD~1';
export const MAX_REPEAT = 20;

export function defaultDiffPickers(): DiffPickers {
  return { evalset: '', base: DEFAULT_BASE, head: WORKTREE, replay: null, repeat: 1, all: false };
}

/** Reads the pickers from hash parameters; anything malformed is ignored. */
export function parseDiffPickers(params: URLSearchParams): DiffPickers {
  const pickers = defaultDiffPickers();
  pickers.evalset = params.get('evalset')?.trim() ?? '';
  pickers.base = params.get('base')?.trim() || DEFAULT_BASE;
  pickers.head = params.get('head')?.trim() || WORKTREE;
  const replay = params.get('replay');
  pickers.replay = replay === '1' ? true : replay === '0' ? false : null;
  const repeat = Number(params.get('repeat'));
  if (Number.isSafeInteger(repeat) && repeat >= 1 && repeat <= MAX_REPEAT) pickers.repeat = repeat;
  pickers.all = params.get('show') === 'all';
  return pickers;
}

/** Hash parameters for the pickers, in a fixed order, leaving out defaults. */
export function diffPickersToParams(pickers: DiffPickers): URLSearchParams {
  const params = new URLSearchParams();
  if (pickers.evalset !== '') params.set('evalset', pickers.evalset);
  if (pickers.base !== DEFAULT_BASE) params.set('base', pickers.base);
  if (pickers.head !== WORKTREE) params.set('head', pickers.head);
  if (pickers.replay !== null) params.set('replay', pickers.replay ? '1' : '0');
  if (pickers.repeat !== 1) params.set('repeat', String(pickers.repeat));
  if (pickers.all) params.set('show', 'all');
  return params;
}

const MINUS = '−';

function signed(value: number, text: string): string {
  if (value > 0) return `+${text}`;
  if (value < 0) return `${MINUS}${text}`;
  return `±${text}`;
}

/** Pass-rate change in percentage points: "+4 pp", "−12.5 pp". */
export function formatPpDelta(base: number | null, head: number | null): string {
  if (base === null || head === null) return '—';
  const pp = Number(((head - base) * 100).toFixed(1));
  return `${signed(pp, String(Math.abs(pp)))} pp`;
}

/** Relative change: "+12%", "−3.4%"; a placeholder from zero. */
export function formatPctDelta(base: number | null, head: number | null): string {
  if (base === null || head === null) return '—';
  if (base === 0) return head === 0 ? '±0%' : '—';
  const pct = Number((((head - base) / Math.abs(base)) * 100).toFixed(1));
  return `${signed(pct, String(Math.abs(pct)))}%`;
}

/** A score change: "+0.25", "−0.10". */
export function formatScoreDelta(delta: number | null): string {
  if (delta === null || !Number.isFinite(delta)) return '—';
  const rounded = Number(delta.toFixed(2));
  return signed(rounded, Math.abs(rounded).toFixed(2));
}

/** A cost change: "+$0.0012". */
export function formatCostDelta(delta: number | null): string {
  if (delta === null || !Number.isFinite(delta)) return '—';
  return signed(delta, formatCost(Math.abs(delta)));
}

/** A latency change: "+120 ms". */
export function formatLatencyDelta(deltaMs: number | null): string {
  if (deltaMs === null || !Number.isFinite(deltaMs)) return '—';
  return signed(Math.round(deltaMs), formatDuration(Math.abs(deltaMs)));
}

/** A p-value for people: "p = 0.031", "p < 0.001". */
export function formatPValue(p: number): string {
  if (!Number.isFinite(p)) return 'p = —';
  if (p < 0.001) return 'p < 0.001';
  return `p = ${Number(p.toFixed(3))}`;
}

/** What a ref names, for people: the working tree, or the ref itself. */
export function refLabel(ref: string): string {
  return ref === WORKTREE ? 'Working tree' : ref;
}
