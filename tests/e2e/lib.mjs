// Shared set-up for the UI end-to-end tests: the built `assay` binary, throwaway workspaces
// filled from the real SDK fixtures, and `assay serve` on a free loopback port.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const targetDir = join(repoRoot, 'target', 'debug');
export const assayBin = process.env.ASSAY_BIN ?? join(targetDir, 'assay');
export const desktopBin = process.env.ASSAY_DESKTOP_BIN ?? join(targetDir, 'assay-desktop');
export const screenshotDir = join(repoRoot, 'target', 'e2e');
mkdirSync(screenshotDir, { recursive: true });

export const PRODUCERS = [
  'openinference-python',
  'openinference-js',
  'openllmetry-python',
  'otel-genai-python',
  'langfuse-python',
];

/** The OpenInference fixture's trace, with a span two levels below the root. */
export const SAMPLE = {
  traceId: 'e18dabc1874414570b9a86b06f1ed2dd',
  spanCount: 8,
  rootSpanId: 'cb30555fdd7a4d40',
  embeddingSpanId: '1c99985f962fd819', // CreateEmbeddings, under retrieve_documents, under the root
};

export function assay(args, cwd) {
  const out = spawnSync(assayBin, args, { cwd, encoding: 'utf8' });
  if (out.status !== 0) {
    throw new Error(`assay ${args.join(' ')} failed (${out.status}): ${out.stderr}`);
  }
  return out.stdout;
}

const tempDirs = [];

/** A new folder under the system's temporary folder, removed by `removeTempDirs`. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * Removes every folder `tempDir` made; called once the processes using them were told to stop.
 * A server still closing its store may write a file meanwhile: the removal tries again.
 */
export function removeTempDirs() {
  for (const dir of tempDirs.splice(0)) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/** A new workspace; with `imported`, the five fixture traces are imported into it. */
export function makeWorkspace({ imported }) {
  const dir = tempDir('assay-e2e-');
  assay(['init', dir], dir);
  if (imported) {
    const files = PRODUCERS.map((p) => join(repoRoot, 'tests/fixtures/otlp', p, 'traces.json'));
    assay(['import', ...files], dir);
  }
  return dir;
}

/** Starts `assay serve --port 0` in `dir`; resolves to { url, stop }. */
export function serve(dir) {
  const child = spawn(assayBin, ['serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('assay serve printed no URL within 20 s')), 20_000);
    child.on('exit', (code) => reject(new Error(`assay serve exited early (${code})`)));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const url = line.split(/\s+/).find((w) => w.startsWith('http://'));
      if (url) {
        clearTimeout(timer);
        resolvePromise({ url, stop: () => child.kill('SIGTERM') });
      }
    });
  });
}
