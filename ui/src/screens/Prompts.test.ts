import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  workspaceFiles: vi.fn(),
  fileGet: vi.fn(),
  fileHistory: vi.fn(),
  fileDiff: vi.fn(),
  fileSave: vi.fn(),
  promptRender: vi.fn(),
  evalSets: vi.fn(),
}));

import { evalSets, fileDiff, fileGet, fileHistory, fileSave, promptRender, workspaceFiles } from '../lib/api';
import { mayLeave } from '../lib/leaveGuard';
import type { WorkspaceFiles } from '../lib/types';
import { commit, evalSet } from '../test-fixtures';
import Prompts from './Prompts.svelte';

const filesMock = vi.mocked(workspaceFiles);
const getMock = vi.mocked(fileGet);
const historyMock = vi.mocked(fileHistory);
const diffMock = vi.mocked(fileDiff);
const saveMock = vi.mocked(fileSave);
const renderMock = vi.mocked(promptRender);
const setsMock = vi.mocked(evalSets);

const TRIAGE = 'prompts/triage.yaml';
const TRIAGE_TEXT = 'model: openai:gpt-4o-mini\ntext: |\n  Classify: {{ticket}}\n';

function workspace(overrides: Partial<WorkspaceFiles> = {}): WorkspaceFiles {
  return {
    is_git: true,
    branch: 'main',
    files: [
      { path: 'evalsets/support/evalset.yaml', kind: 'evalset', modified: false },
      { path: 'evalsets/support/cases.jsonl', kind: 'cases', modified: false },
      { path: 'prompts/support/reply.md', kind: 'prompt', modified: false },
      { path: TRIAGE, kind: 'prompt', modified: true },
    ],
    ...overrides,
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(hash: string): Promise<HTMLElement> {
  window.history.replaceState(null, '', `/${hash}`);
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(Prompts, { target, props: { hash } });
  await settle();
  return target;
}

function byTestId<T extends HTMLElement = HTMLElement>(view: HTMLElement, id: string): T {
  const element = view.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`no [data-testid="${id}"]`);
  return element;
}

function type(element: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  element.value = value;
  element.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

beforeEach(() => {
  for (const mock of [filesMock, getMock, historyMock, diffMock, saveMock, renderMock, setsMock]) mock.mockReset();
  filesMock.mockResolvedValue(workspace());
  getMock.mockResolvedValue({ path: TRIAGE, rev: null, content: TRIAGE_TEXT });
  setsMock.mockResolvedValue([evalSet('support', { prompts: ['triage', 'support/reply'] }), evalSet('other', { prompts: ['x'] })]);
  renderMock.mockResolvedValue({
    case_id: 'refund-1',
    vars: { ticket: 'I want my money back' },
    messages: [{ role: 'user', content: 'Classify: I want my money back' }],
  });
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('Prompts tree', () => {
  it('shows the branch and the files as folders, marking modified files, and collapses folders', async () => {
    const view = await render('#/prompts');

    expect(byTestId(view, 'prompts-branch').textContent).toContain('main');
    const tree = byTestId(view, 'prompts-tree');
    const triage = byTestId<HTMLAnchorElement>(tree, 'file-prompts_triage_yaml');
    expect(triage.getAttribute('href')).toBe('#/prompts/file?path=prompts%2Ftriage.yaml');
    expect(triage.dataset.modified).toBe('true');
    expect(triage.textContent).toContain('modified');
    const reply = byTestId(tree, 'file-prompts_support_reply_md');
    expect(reply.textContent).not.toContain('modified');
    expect(byTestId(tree, 'file-evalsets_support_evalset_yaml').textContent).toBe('evalset.yaml');
    // Folders come before files; evalsets/ before prompts/.
    const names = [...tree.querySelectorAll('[data-testid^="file-"]')].map((node) => node.getAttribute('data-testid'));
    expect(names).toEqual([
      'file-evalsets_support_cases_jsonl',
      'file-evalsets_support_evalset_yaml',
      'file-prompts_support_reply_md',
      'file-prompts_triage_yaml',
    ]);

    byTestId(tree, 'folder-prompts_support').click();
    flushSync();
    expect(tree.querySelector('[data-testid="file-prompts_support_reply_md"]')).toBeNull();
    expect(tree.querySelector('[data-testid="file-prompts_triage_yaml"]')).not.toBeNull();
    byTestId(tree, 'folder-prompts_support').click();
    flushSync();
    expect(tree.querySelector('[data-testid="file-prompts_support_reply_md"]')).not.toBeNull();
    expect(getMock).not.toHaveBeenCalled();
  });

  it('says history needs git when the workspace is not a repository', async () => {
    filesMock.mockResolvedValue(workspace({ is_git: false, branch: null }));
    const view = await render(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}`);

    expect(byTestId(view, 'prompts-no-git').textContent).toContain('need git');
    expect(view.querySelector('[data-testid="prompts-branch"]')).toBeNull();
    byTestId(view, 'file-edit').click();
    flushSync();
    // Without git there is nothing to commit to.
    expect(view.querySelector('[data-testid="file-save-commit"]')).toBeNull();
  });
});

describe('Prompts file view', () => {
  it('shows the file with line numbers and renders the prompt with a case', async () => {
    const view = await render(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}`);

    expect(getMock).toHaveBeenCalledWith({ path: TRIAGE });
    const rows = byTestId(view, 'file-content').querySelectorAll('tr');
    expect(rows).toHaveLength(3);
    expect(rows[2]?.textContent).toBe('3  Classify: {{ticket}}');
    expect(byTestId(view, 'file-prompts_triage_yaml').classList.contains('active')).toBe(true);
    expect(byTestId(view, 'file-prompts_support_reply_md').classList.contains('active')).toBe(false);

    const panel = byTestId(view, 'render-panel');
    expect(renderMock).toHaveBeenCalledWith({ evalset: 'support', prompt_id: 'triage' });
    expect(byTestId(panel, 'render-case-id').textContent).toBe('refund-1');
    expect(byTestId<HTMLInputElement>(panel, 'render-case').placeholder).toContain('refund-1');
    expect(panel.querySelector('[data-testid="span-message"]')?.textContent).toContain('Classify: I want my money back');
    // Only the eval sets that use the prompt are offered.
    expect([...byTestId<HTMLSelectElement>(panel, 'render-evalset').options].map((option) => option.value)).toEqual(['support']);

    type(byTestId<HTMLInputElement>(panel, 'render-case'), 'refund-2');
    expect(renderMock).toHaveBeenCalledTimes(1);
    byTestId(panel, 'render-run').click();
    await settle();
    expect(renderMock).toHaveBeenLastCalledWith({ evalset: 'support', prompt_id: 'triage', case_id: 'refund-2' });
  });

  it('renders a nested prompt under its id, and no render panel for eval-set files', async () => {
    getMock.mockResolvedValue({ path: 'prompts/support/reply.md', rev: null, content: 'Hi {{name}}' });
    let view = await render(`#/prompts/file?path=${encodeURIComponent('prompts/support/reply.md')}`);
    expect(renderMock).toHaveBeenCalledWith({ evalset: 'support', prompt_id: 'support/reply' });
    unmount(component!);
    component = null;
    view.remove();

    getMock.mockResolvedValue({ path: 'evalsets/support/evalset.yaml', rev: null, content: 'prompts: [triage]' });
    view = await render(`#/prompts/file?path=${encodeURIComponent('evalsets/support/evalset.yaml')}`);
    expect(byTestId(view, 'file-content').textContent).toContain('prompts: [triage]');
    expect(view.querySelector('[data-testid="render-panel"]')).toBeNull();
    expect(byTestId<HTMLAnchorElement>(view, 'file-compare').getAttribute('href')).toBe('#/evals/diff?evalset=support');
  });

  it('edits and saves the file, then shows the saved content', async () => {
    saveMock.mockResolvedValue({ path: TRIAGE, kind: 'prompt', modified: true });
    const view = await render(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}`);

    byTestId(view, 'file-edit').click();
    flushSync();
    const editor = byTestId<HTMLTextAreaElement>(view, 'file-editor');
    expect(editor.value).toBe(TRIAGE_TEXT);
    expect(byTestId<HTMLButtonElement>(view, 'file-save').disabled).toBe(true);

    type(editor, 'text: "Classify briefly: {{ticket}}"\n');
    expect(byTestId(view, 'file-unsaved')).not.toBeNull();
    byTestId(view, 'file-save').click();
    await settle();

    expect(saveMock).toHaveBeenCalledWith({ path: TRIAGE, content: 'text: "Classify briefly: {{ticket}}"\n' });
    expect(byTestId(view, 'file-note').textContent).toBe('Saved.');
    expect(byTestId(view, 'file-content').textContent).toContain('Classify briefly');
    expect(view.querySelector('[data-testid="file-editor"]')).toBeNull();
    // The tree's modified dots and the rendering follow the save.
    expect(filesMock).toHaveBeenCalledTimes(2);
    expect(renderMock).toHaveBeenCalledTimes(2);
  });

  it('saves and commits with the message typed', async () => {
    saveMock.mockResolvedValue({ path: TRIAGE, kind: 'prompt', modified: false });
    const view = await render(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}`);

    byTestId(view, 'file-edit').click();
    flushSync();
    type(byTestId<HTMLTextAreaElement>(view, 'file-editor'), 'text: shorter\n');
    const commitButton = byTestId<HTMLButtonElement>(view, 'file-save-commit');
    expect(commitButton.disabled).toBe(true);
    type(byTestId<HTMLInputElement>(view, 'commit-message'), '  Shorter triage prompt ');
    expect(commitButton.disabled).toBe(false);
    commitButton.click();
    await settle();

    expect(saveMock).toHaveBeenCalledWith({ path: TRIAGE, content: 'text: shorter\n', commit_message: 'Shorter triage prompt' });
    expect(byTestId(view, 'file-note').textContent).toBe('Saved and committed.');
  });

  it('asks before leaving unsaved changes, and keeps them when the answer is no', async () => {
    const confirm = vi.fn(() => false);
    vi.stubGlobal('confirm', confirm);
    const view = await render(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}`);

    expect(mayLeave('#/traces')).toBe(true);
    byTestId(view, 'file-edit').click();
    flushSync();
    // Editing without a change is not unsaved work.
    expect(mayLeave('#/traces')).toBe(true);
    type(byTestId<HTMLTextAreaElement>(view, 'file-editor'), 'changed');

    expect(mayLeave('#/traces')).toBe(false);
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(mayLeave('#/prompts/file?path=prompts%2Fsupport%2Freply.md')).toBe(false);
    // Another tab of the same file keeps the draft without asking.
    expect(mayLeave(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}&tab=history`)).toBe(true);
    expect(confirm).toHaveBeenCalledTimes(2);

    const unload = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(unload);
    expect(unload.defaultPrevented).toBe(true);

    byTestId(view, 'file-cancel').click();
    flushSync();
    expect(byTestId<HTMLTextAreaElement>(view, 'file-editor').value).toBe('changed');
    confirm.mockReturnValue(true);
    byTestId(view, 'file-cancel').click();
    flushSync();
    expect(view.querySelector('[data-testid="file-editor"]')).toBeNull();
    expect(mayLeave('#/traces')).toBe(true);
  });
});

describe('Prompts history', () => {
  const newer = commit('b', { summary: 'Tighten triage', author: 'Ana' });
  const older = commit('a', { summary: 'Add triage' });

  it('lists versions with uncommitted changes first and compares the ticked ones, older first', async () => {
    historyMock.mockResolvedValue([
      { commit: null, id: 'worktree' },
      { commit: newer, id: 'blob-2' },
      { commit: older, id: 'blob-1' },
    ]);
    diffMock.mockResolvedValue({
      path: TRIAGE,
      unified: '@@',
      lines: [
        { kind: 'equal', old_no: 1, new_no: 1, text: 'model: openai:gpt-4o-mini' },
        { kind: 'delete', old_no: 2, new_no: null, text: 'text: long' },
        { kind: 'insert', old_no: null, new_no: 2, text: 'text: short' },
      ],
    });
    const view = await render(`#/prompts/file?path=${encodeURIComponent(TRIAGE)}&tab=history`);

    expect(historyMock).toHaveBeenCalledWith(TRIAGE);
    expect(byTestId(view, 'history-row-0').textContent).toContain('Uncommitted changes');
    const row1 = byTestId(view, 'history-row-1');
    expect(row1.textContent).toContain('bbbbbbb');
    expect(row1.textContent).toContain('Tighten triage');
    expect(row1.textContent).toContain('Ana');
    expect(row1.textContent).toMatch(/ago|\d{4}-\d\d-\d\d/);
    expect(byTestId<HTMLButtonElement>(view, 'history-previous-2').disabled).toBe(true);

    const compareButton = byTestId<HTMLButtonElement>(view, 'history-compare');
    expect(compareButton.disabled).toBe(true);
    byTestId(view, 'history-row-0').querySelector('input')!.click();
    byTestId(view, 'history-row-2').querySelector('input')!.click();
    flushSync();
    compareButton.click();
    await settle();
    expect(diffMock).toHaveBeenCalledWith({ path: TRIAGE, from: older.sha, to: null });

    const diff = byTestId(view, 'file-diff');
    const cells = [...diff.querySelectorAll('tbody tr')].map((row) =>
      [...row.querySelectorAll('td')].map((cell) => cell.textContent).join('|'),
    );
    expect(cells).toEqual([
      '1||model: openai:gpt-4o-mini|1||model: openai:gpt-4o-mini',
      '2|−|removed: text: long|2|+|added: text: short',
    ]);
    expect(diff.querySelector('[data-kind="delete"]')?.textContent).toContain('text: long');
    expect(diff.querySelector('[data-kind="insert"]')?.textContent).toContain('text: short');

    byTestId(view, 'history-previous-1').click();
    await settle();
    expect(diffMock).toHaveBeenLastCalledWith({ path: TRIAGE, from: older.sha, to: newer.sha });
  });
});
