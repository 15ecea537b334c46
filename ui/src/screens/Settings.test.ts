import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  keysStatus: vi.fn(),
  keysSet: vi.fn(),
  keysDelete: vi.fn(),
}));

import { ApiError, keysDelete, keysSet, keysStatus } from '../lib/api';
import Settings from './Settings.svelte';

const statusMock = vi.mocked(keysStatus);
const setMock = vi.mocked(keysSet);
const deleteMock = vi.mocked(keysDelete);

const STATUS = [
  { provider: 'openai', source: 'env:OPENAI_API_KEY' },
  { provider: 'anthropic', source: 'keyring' },
  { provider: 'gemini', source: null },
  { provider: 'azure', source: null },
  { provider: 'openrouter', source: null },
];

async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(): Promise<HTMLElement> {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(Settings, { target });
  await settle();
  return target;
}

function byTestId<T extends HTMLElement = HTMLElement>(view: HTMLElement, id: string): T {
  const element = view.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`no [data-testid="${id}"]`);
  return element;
}

function type(input: HTMLInputElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

beforeEach(() => {
  statusMock.mockReset();
  setMock.mockReset();
  deleteMock.mockReset();
  statusMock.mockResolvedValue(STATUS);
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('Settings', () => {
  it('shows where each provider key comes from, and that keys live in the OS keyring', async () => {
    const view = await render();

    expect(statusMock).toHaveBeenCalledTimes(1);
    for (const { provider } of STATUS) expect(view.querySelector(`[data-testid="key-${provider}"]`)).not.toBeNull();
    expect(byTestId(view, 'key-source-openai').textContent).toBe('environment variable OPENAI_API_KEY');
    expect(byTestId(view, 'key-source-anthropic').textContent).toBe('OS keyring');
    expect(byTestId(view, 'key-source-gemini').textContent).toBe('not set');
    expect(view.textContent).toContain('never in the Assay database');
    expect(byTestId<HTMLInputElement>(view, 'key-input-openai').type).toBe('password');
    // Remove only where the keyring holds the key.
    expect(view.querySelector('[data-testid="key-remove-anthropic"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="key-remove-openai"]')).toBeNull();
    expect(view.querySelector('[data-testid="key-remove-gemini"]')).toBeNull();
  });

  it('saves a key with keys_set, clears the input and shows the new source without the key', async () => {
    setMock.mockResolvedValue({ provider: 'gemini', source: 'keyring' });
    const view = await render();

    const input = byTestId<HTMLInputElement>(view, 'key-input-gemini');
    expect(byTestId<HTMLButtonElement>(view, 'key-save-gemini').disabled).toBe(true);
    type(input, '  AIza-secret-value ');
    byTestId<HTMLButtonElement>(view, 'key-save-gemini').click();
    await settle();

    expect(setMock).toHaveBeenCalledWith('gemini', 'AIza-secret-value');
    expect(input.value).toBe('');
    expect(byTestId(view, 'key-source-gemini').textContent).toBe('OS keyring');
    expect(view.querySelector('[data-testid="key-remove-gemini"]')).not.toBeNull();
    expect(view.innerHTML).not.toContain('AIza-secret-value');
  });

  it('removes a keyring key with keys_delete and falls back to what remains', async () => {
    deleteMock.mockResolvedValue({ provider: 'anthropic', source: 'env:ANTHROPIC_API_KEY' });
    const view = await render();

    byTestId(view, 'key-remove-anthropic').click();
    await settle();

    expect(deleteMock).toHaveBeenCalledWith('anthropic');
    expect(setMock).not.toHaveBeenCalled();
    expect(byTestId(view, 'key-source-anthropic').textContent).toBe('environment variable ANTHROPIC_API_KEY');
    expect(view.querySelector('[data-testid="key-remove-anthropic"]')).toBeNull();
  });

  it('shows a failed save on its row and still clears the input', async () => {
    setMock.mockRejectedValue(new ApiError('internal', 'no keyring service available'));
    const view = await render();

    const input = byTestId<HTMLInputElement>(view, 'key-input-openai');
    type(input, 'sk-123');
    input.form?.requestSubmit();
    await settle();

    expect(setMock).toHaveBeenCalledWith('openai', 'sk-123');
    expect(byTestId(view, 'key-openai').textContent).toContain('no keyring service available');
    expect(byTestId(view, 'key-source-openai').textContent).toBe('environment variable OPENAI_API_KEY');
    expect(input.value).toBe('');
  });
});
