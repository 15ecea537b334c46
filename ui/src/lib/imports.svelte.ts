// File imports started from the UI (file picker or drag-and-drop). Files are
// uploaded one at a time, in the order given; the panel shows each one's fate.

import { importFile, importProgress, toApiError } from './api';
import type { ApiErrorBody, ImportProgress, ImportReport } from './types';

export type ImportStatus = 'queued' | 'importing' | 'ok' | 'failed';

export interface ImportEntry {
  id: number;
  name: string;
  size: number;
  status: ImportStatus;
  /** Set when the file was imported (possibly with rejected records). */
  report: ImportReport | null;
  /** Set when the file changed nothing. */
  error: ApiErrorBody | null;
  /** While importing: how far the backend has got, asked every {@link PROGRESS_EVERY_MS}. */
  progress: ImportProgress | null;
}

/** How often an import in flight is asked for its progress. */
export const PROGRESS_EVERY_MS = 500;

export const importState = $state({
  entries: [] as ImportEntry[],
  /** Whether an upload is in flight. */
  running: false,
  /** Bumped after each run of uploads that imported something: lists reload on it. */
  generation: 0,
});

let nextId = 1;
/** Distinguishes this page's uploads from another window's, for `import_progress`. */
const session = Math.random().toString(36).slice(2);
let draining: Promise<void> = Promise.resolve();
// The files behind queued entries; kept outside the reactive state, nothing displays them.
// eslint-disable-next-line svelte/prefer-svelte-reactivity
const pending = new Map<number, File>();

function entry(id: number): ImportEntry | undefined {
  return importState.entries.find((candidate) => candidate.id === id);
}

async function uploadOne(id: number, file: File): Promise<boolean> {
  const current = entry(id);
  if (current) current.status = 'importing';
  let report: ImportReport | null = null;
  let error: ApiErrorBody | null = null;
  const uploadId = `${session}-${id}`;
  // The backend reports per written batch; a failed ask is skipped (the outcome tells all).
  const poll = setInterval(() => {
    importProgress(uploadId).then(
      (progress) => {
        const running = entry(id);
        if (progress && running?.status === 'importing') running.progress = progress;
      },
      () => undefined,
    );
  }, PROGRESS_EVERY_MS);
  try {
    const outcome = await importFile(file, { id: uploadId });
    report = outcome.imported[0] ?? null;
    const failure = outcome.failed[0];
    if (report === null) {
      error = failure?.error ?? { code: 'bad_response', message: 'The backend reported nothing for this file' };
    }
  } catch (caught) {
    const apiError = toApiError(caught);
    error = { code: apiError.code, message: apiError.message };
  } finally {
    clearInterval(poll);
  }
  const done = entry(id);
  if (done) {
    done.report = report;
    done.error = error;
    done.status = report !== null ? 'ok' : 'failed';
  }
  return report !== null;
}

async function drain(): Promise<void> {
  importState.running = true;
  let imported = false;
  try {
    for (;;) {
      const next = importState.entries.find((candidate) => candidate.status === 'queued');
      if (next === undefined) break;
      const file = pending.get(next.id);
      pending.delete(next.id);
      if (file === undefined) {
        next.status = 'failed';
        next.error = { code: 'internal', message: 'The file is no longer available' };
        continue;
      }
      if (await uploadOne(next.id, file)) imported = true;
    }
  } finally {
    importState.running = false;
    if (imported) importState.generation++;
  }
}

/** Queues files for import; resolves when every queued file is done. */
export function importFiles(files: Iterable<File>): Promise<void> {
  let added = false;
  for (const file of files) {
    const id = nextId++;
    pending.set(id, file);
    importState.entries.push({
      id,
      name: file.name,
      size: file.size,
      status: 'queued',
      report: null,
      error: null,
      progress: null,
    });
    added = true;
  }
  if (!added) return draining;
  // A running loop looks for queued entries again before it stops, so it picks these up.
  if (!importState.running) draining = drain();
  return draining;
}

/** Removes finished entries from the panel (queued and running ones stay). */
export function dismissFinished(): void {
  importState.entries = importState.entries.filter(
    (candidate) => candidate.status === 'queued' || candidate.status === 'importing',
  );
}

/** For tests: forget everything. */
export function resetImports(): void {
  pending.clear();
  draining = Promise.resolve();
  importState.entries = [];
  importState.running = false;
  importState.generation = 0;
}
