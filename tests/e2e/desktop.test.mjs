// The desktop app in a real window (under Xvfb), driven through tauri-driver and WebKitWebDriver.
// Run it through run-desktop.sh, which provides the display and a session bus.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { remote } from 'webdriverio';
import { assay, desktopBin, makeWorkspace, removeTempDirs, screenshotDir, SAMPLE, PRODUCERS, tempDir } from './lib.mjs';

const DRIVER_PORT = Number(process.env.TAURI_DRIVER_PORT ?? 4444);
let driver;

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

before(async () => {
  assert.ok(process.env.DISPLAY, 'a display is needed: run through tests/e2e/run-desktop.sh');
  const home = tempDir('assay-desktop-home-');
  const driverBin = process.env.TAURI_DRIVER ?? join(homedir(), '.cargo/bin/tauri-driver');
  driver = spawn(driverBin, ['--port', String(DRIVER_PORT)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    // The app must never touch a real user's data: point its data and cache folders at a temp dir.
    env: { ...process.env, XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache') },
  });
  await waitForPort(DRIVER_PORT, 20_000);
});

after(() => {
  driver?.kill('SIGTERM');
  // An app whose session did not close it would outlive the driver, holding the test runner's
  // output open so that the run never ends: stop any left.
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === desktopBin) {
        process.kill(Number(pid), 'SIGKILL');
      }
    } catch {
      // Gone already, or not ours to read.
    }
  }
  removeTempDirs();
});

async function openApp(workspace) {
  return remote({
    hostname: '127.0.0.1',
    port: DRIVER_PORT,
    logLevel: 'warn',
    capabilities: {
      browserName: 'wry',
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: desktopBin, args: ['--workspace', workspace] },
    },
  });
}

test('the desktop window lists imported traces and opens one as a tree', async () => {
  const dir = makeWorkspace({ imported: true });
  const app = await openApp(dir);
  try {
    await app.$('[data-testid="trace-row"]').waitForExist({ timeout: 30_000 });
    const rows = await app.$$('[data-testid="trace-row"]');
    assert.equal(rows.length, PRODUCERS.length, 'one row per imported trace');

    // WebKitWebDriver does not click table rows themselves: click the row's name cell.
    await app.$(`[data-testid="trace-row"][data-trace-id="${SAMPLE.traceId}"] td:nth-child(2)`).click();
    await app.$('[data-testid="trace-view"]').waitForExist({ timeout: 10_000 });
    await app.$('[data-testid="span-row"]').waitForExist({ timeout: 10_000 });
    const spans = await app.$$('[data-testid="span-row"]');
    assert.equal(spans.length, SAMPLE.spanCount, 'every span of the trace is a row');
    const embedding = app.$(`[data-testid="span-row"][data-span-id="${SAMPLE.embeddingSpanId}"]`);
    assert.equal(await embedding.getAttribute('data-depth'), '2', 'grandchild of the root');
    await embedding.click();
    const detail = app.$('[data-testid="span-detail"]');
    await detail.waitForExist({ timeout: 10_000 });
    assert.match(await detail.getText(), /text-embedding-3-small/);
    await app.saveScreenshot(join(screenshotDir, 'desktop-trace.png'));
  } finally {
    await app.deleteSession();
  }
});

test('the desktop window shows the empty state for an empty workspace', async () => {
  const dir = makeWorkspace({ imported: false });
  const app = await openApp(dir);
  try {
    const empty = app.$('[data-testid="empty-state"]');
    await empty.waitForExist({ timeout: 30_000 });
    assert.match(await empty.getText(), /assay import/);
    assert.equal((await app.$$('[data-testid="trace-row"]')).length, 0);
    await app.saveScreenshot(join(screenshotDir, 'desktop-empty.png'));
  } finally {
    await app.deleteSession();
  }
});

test('the desktop window runs an eval set through the Tauri transport and shows its grid', async () => {
  const dir = tempDir('assay-desktop-evals-');
  const workspace = join(dir, 'demo');
  assay(['demo', '--no-open', workspace], dir);
  const app = await openApp(workspace);
  try {
    await app.$('[data-testid="nav-evals"]').waitForExist({ timeout: 30_000 });
    await app.$('[data-testid="nav-evals"]').click();
    await app.$('[data-testid="evalset-release-notes"]').waitForExist({ timeout: 15_000 });
    await app.$('[data-testid="run-release-notes"]').click();
    const open = app.$('[data-testid="open-run-release-notes"]');
    await open.waitForExist({ timeout: 30_000 });
    await open.click();
    await app.$('[data-testid="result-grid"]').waitForExist({ timeout: 15_000 });
    const cells = await app.$$('[data-testid^="cell-"]');
    assert.equal(cells.length, 4, 'four cases x one prompt x one provider');
    const outcomes = [];
    for (const cell of cells) outcomes.push(await cell.getAttribute('data-outcome'));
    assert.deepEqual(outcomes.sort(), ['fail', 'pass', 'pass', 'pass'], 'the replayed run grades as recorded');
    await app.saveScreenshot(join(screenshotDir, 'desktop-eval-run.png'));
  } finally {
    await app.deleteSession();
  }
});

test('a file chosen in the desktop window is sent to the backend in parts and imported', async () => {
  const dir = makeWorkspace({ imported: false });
  // Over twice the 8 MiB part size: three parts cross the Tauri IPC.
  const traces = 80_000;
  const lines = [];
  for (let i = 1; i <= traces; i += 1) {
    const traceId = i.toString(16).padStart(32, '0');
    lines.push(
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${traceId}","spanId":"b7ad6b7169203331","name":"call","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000"}]}]}]}`,
    );
  }
  const file = join(dir, 'month.jsonl');
  const text = lines.join('\n') + '\n';
  assert.ok(text.length > 2 * 8 * 1024 * 1024, `${text.length} bytes make three parts`);
  writeFileSync(file, text);
  const app = await openApp(dir);
  try {
    await app.$('[data-testid="empty-state"]').waitForExist({ timeout: 30_000 });
    // The input is hidden behind the Import button; WebDriver types a path into it.
    await app.execute(() => document.querySelector('[data-testid="import-input"]').removeAttribute('hidden'));
    await app.$('[data-testid="import-input"]').addValue(file);
    const done = app.$('[data-testid="import-result"][data-status="ok"]');
    await done.waitForExist({ timeout: 120_000 });
    assert.match(await done.$('[data-testid="import-summary"]').getText(), /80,000 new, 0 merged/);
    await app.$('[data-testid="trace-row"]').waitForDisplayed({ timeout: 15_000 });
    assert.equal(await app.$('[data-testid="trace-total"]').getText(), '80000 traces');
    await app.saveScreenshot(join(screenshotDir, 'desktop-import.png'));
  } finally {
    await app.deleteSession();
  }
});
