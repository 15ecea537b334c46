// The web UI in a real browser (Debian's Chromium, headless) against a real `assay serve`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { assay, makeWorkspace, removeTempDirs, serve, screenshotDir, repoRoot, SAMPLE, PRODUCERS, tempDir } from './lib.mjs';

let browser;

before(async () => {
  // Playwright gives each launch a fresh temporary profile and runs it headless.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  removeTempDirs();
});

/** A page that fails the test on any console error or CSP violation. */
async function openPage(url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  await page.goto(url);
  return { page, problems };
}

test('imported traces are listed, and a trace opens as a tree', async () => {
  const dir = makeWorkspace({ imported: true });
  const server = await serve(dir);
  try {
    const { page, problems } = await openPage(server.url);
    const rows = page.locator('[data-testid="trace-row"]');
    await rows.first().waitFor({ timeout: 15_000 });
    assert.equal(await rows.count(), PRODUCERS.length, 'one row per imported trace');
    assert.match(await page.locator('[data-testid="trace-total"]').innerText(), /\b5\b/);
    assert.ok((await page.locator('[data-testid="workspace-root"]').innerText()).length > 0);

    await page.locator(`[data-testid="trace-row"][data-trace-id="${SAMPLE.traceId}"]`).click();
    await page.locator('[data-testid="trace-view"]').waitFor();
    const spans = page.locator('[data-testid="span-row"]');
    await spans.first().waitFor();
    assert.equal(await spans.count(), SAMPLE.spanCount, 'every span of the trace is a row');
    const root = page.locator(`[data-testid="span-row"][data-span-id="${SAMPLE.rootSpanId}"]`);
    assert.equal(await root.getAttribute('data-depth'), '0');
    const embedding = page.locator(`[data-testid="span-row"][data-span-id="${SAMPLE.embeddingSpanId}"]`);
    assert.equal(await embedding.getAttribute('data-depth'), '2', 'grandchild of the root');

    await embedding.click();
    const detail = page.locator('[data-testid="span-detail"]');
    await detail.waitFor();
    assert.match(await detail.innerText(), /text-embedding-3-small/);
    await page.screenshot({ path: join(screenshotDir, 'browser-trace.png') });
    assert.deepEqual(problems, [], 'no console errors or CSP violations');
  } finally {
    server.stop();
  }
});

test('an empty workspace shows the empty state, not a blank page', async () => {
  const dir = makeWorkspace({ imported: false });
  const server = await serve(dir);
  try {
    const { page, problems } = await openPage(server.url);
    await page.locator('[data-testid="empty-state"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-testid="trace-row"]').count(), 0);
    assert.match(await page.locator('[data-testid="empty-state"]').innerText(), /assay import/);
    await page.locator('[data-testid="nav-cost"]').click();
    const costEmpty = page.locator('[data-testid="cost-empty"]');
    await costEmpty.waitFor();
    assert.match(await costEmpty.innerText(), /assay import/, 'the Cost section says where cost comes from');
    await page.locator('[data-testid="nav-alerts"]').click();
    await page.locator('[data-testid="not-yet"]').waitFor();
    await page.screenshot({ path: join(screenshotDir, 'browser-empty.png') });
    assert.deepEqual(problems, []);
  } finally {
    server.stop();
  }
});

test('files imported from the UI appear, bad ones are reported, and filters narrow the list', async () => {
  const dir = makeWorkspace({ imported: false });
  const server = await serve(dir);
  try {
    const { page, problems } = await openPage(server.url);
    await page.locator('[data-testid="empty-state"]').waitFor({ timeout: 15_000 });
    const bad = join(dir, 'notes.txt');
    writeFileSync(bad, 'these are not traces\n');
    const fixtures = PRODUCERS.map((p) => join(repoRoot, 'tests/fixtures/otlp', p, 'traces.json'));
    await page.setInputFiles('[data-testid="import-input"]', [...fixtures, bad]);
    await page.locator('[data-testid="import-result"][data-status="failed"]').waitFor({ timeout: 20_000 });
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="import-result"][data-status="ok"]').length === n,
      PRODUCERS.length,
      { timeout: 20_000 },
    );
    const failed = page.locator('[data-testid="import-result"][data-status="failed"]');
    assert.match(await failed.innerText(), /notes\.txt/);
    assert.match(await failed.innerText(), /not a trace format/);
    const rows = page.locator('[data-testid="trace-row"]');
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="trace-row"]').length === n,
      PRODUCERS.length,
      { timeout: 20_000 },
    );

    // Four of the five SDKs attach the tenant `acme`; OpenLLMetry's fixture carries none.
    await page.selectOption('[data-testid="filter-tenant"]', 'acme');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="trace-row"]').length === 4, null, {
      timeout: 10_000,
    });
    assert.ok(page.url().includes('tenant=acme'), 'the filter is kept in the address');
    await page.selectOption('[data-testid="filter-status"]', 'error');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="trace-row"]').length === 3, null, {
      timeout: 10_000,
    });
    await page.screenshot({ path: join(screenshotDir, 'browser-filtered.png') });
    assert.equal(await rows.count(), 3, 'acme traces with a failed span');
    assert.deepEqual(problems, []);
  } finally {
    server.stop();
  }
});

test('the demo eval sets show their runs and grids, a run starts from the UI, and keys are managed in Settings', async () => {
  const dir = tempDir('assay-e2e-evals-');
  const workspace = join(dir, 'demo');
  // The demo writes the example eval sets and replays them offline from their cassettes.
  assay(['demo', '--no-open', workspace], dir);
  const runs = JSON.parse(assay(['eval', 'list', '--json'], workspace)).runs;
  const triage = runs.find((r) => r.evalset === 'support-triage');
  const server = await serve(workspace);
  try {
    const { page, problems } = await openPage(`${server.url}#/evals`);
    await page.locator('[data-testid="evalset-support-triage"]').waitFor({ timeout: 15_000 });
    for (const name of ['rag-answers', 'release-notes', 'support-triage']) {
      assert.equal(await page.locator(`[data-testid="evalset-${name}"]`).count(), 1, name);
    }
    await page.locator(`[data-testid="run-row-${triage.id}"]`).waitFor();
    // One run per eval set, and one of the triage set at each of the history's four commits.
    assert.equal(await page.locator('[data-testid^="run-row-"]').count(), 7);

    await page.locator(`[data-testid="run-row-${triage.id}"]`).click();
    await page.locator('[data-testid="result-grid"]').waitFor();
    // The haiku answer wrapped its JSON in a code fence: a failure the grid shows and explains.
    const cell = page.locator('[data-testid="cell-6-triage-claude-3_5-haiku"]');
    assert.equal(await cell.getAttribute('data-outcome'), 'fail');
    assert.equal(
      await page.locator('[data-testid="cell-1-triage-gpt-4o-mini"]').getAttribute('data-outcome'),
      'pass',
    );
    assert.equal(await page.locator('[data-testid="gate-metric_valid_json"]').getAttribute('data-passed'), 'false');
    await cell.click();
    const detail = page.locator('[data-testid="result-detail"]');
    await detail.waitFor();
    assert.match(await detail.innerText(), /not valid JSON/);
    await page.screenshot({ path: join(screenshotDir, 'browser-eval-run.png') });

    // Start a run from the UI (offline replay) and follow it to the end.
    await page.goto(`${server.url}#/evals`);
    await page.locator('[data-testid="run-release-notes"]').click();
    await page.locator('[data-testid="eval-progress"]').waitFor();
    const open = page.locator('[data-testid="open-run-release-notes"]');
    await open.waitFor({ timeout: 20_000 });
    await open.click();
    await page.locator('[data-testid="result-grid"]').waitFor();
    assert.match(await page.locator('[data-testid="run-status"]').innerText(), /complete/i);
    const after = JSON.parse(assay(['eval', 'list', '--json'], workspace)).runs;
    assert.equal(after.length, 8, 'the UI run is stored like any other');
    assert.equal(after[0].evalset, 'release-notes');
    assert.equal(after[0].done, 4);

    await page.goto(`${server.url}#/settings`);
    await page.locator('[data-testid="key-openai"]').waitFor();
    for (const provider of ['openai', 'anthropic', 'gemini', 'azure', 'openrouter']) {
      assert.equal(await page.locator(`[data-testid="key-${provider}"]`).count(), 1, provider);
    }
    await page.screenshot({ path: join(screenshotDir, 'browser-settings.png') });
    assert.deepEqual(problems, [], 'no console errors or CSP violations');
  } finally {
    server.stop();
  }
});

test('prompts show their git history and diffs, edits save to disk, and base vs head diffs find the regression', async () => {
  const dir = tempDir('assay-e2e-git-');
  const workspace = join(dir, 'demo');
  assay(['demo', '--no-open', workspace], dir);
  const server = await serve(workspace);
  try {
    const { page, problems } = await openPage(`${server.url}#/prompts`);
    await page.locator('[data-testid="prompts-tree"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="file-prompts_triage_yaml"]').click();
    const content = page.locator('[data-testid="file-content"]');
    await content.waitFor();
    assert.match(await content.innerText(), /Triage this Acme Cloud support ticket/);

    // History: four commits touched the prompt's folder... the prompt itself changed in three.
    await page.locator('[data-testid="tab-history"]').click();
    await page.locator('[data-testid="history-row-0"]').waitFor();
    assert.equal(await page.locator('[data-testid^="history-row-"]').count(), 3, 'three versions of triage.yaml');
    await page.locator('[data-testid="history-previous-0"]').click();
    const fileDiff = page.locator('[data-testid="file-diff"]');
    await fileDiff.waitFor();
    assert.match(await fileDiff.innerText(), /needs_human/);
    await page.screenshot({ path: join(screenshotDir, 'browser-prompt-history.png') });

    // Edit and save: the file on disk changes.
    await page.locator('[data-testid="tab-content"]').click();
    await page.locator('[data-testid="file-edit"]').click();
    const editor = page.locator('[data-testid="file-editor"]');
    await editor.waitFor();
    const edited = (await editor.inputValue()).replace('Triage this Acme Cloud support ticket.', 'Triage this ticket.');
    await editor.fill(edited);
    await page.locator('[data-testid="file-save"]').click();
    await page.locator('[data-testid="file-content"]').waitFor();
    const onDisk = readFileSync(join(workspace, 'prompts/triage.yaml'), 'utf8');
    assert.match(onDisk, /Triage this ticket\./);

    // The diff view: the last commit against its parent, offline.
    await page.goto(`${server.url}#/evals/diff?evalset=support-triage&base=HEAD~2&head=HEAD~1`);
    await page.locator('[data-testid="diff-run"]').click();
    const verdict = page.locator('[data-testid="diff-verdict"]');
    await verdict.waitFor({ timeout: 30_000 });
    assert.equal(await verdict.getAttribute('data-passed'), 'true', 'adding a case regressed nothing');
    await page.goto(`${server.url}#/evals/diff?evalset=support-triage&base=HEAD~1&head=HEAD`);
    await page.locator('[data-testid="diff-run"]').click();
    await page.locator('[data-testid="diff-row-regressed-double-charge"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="diff-verdict"]').getAttribute('data-passed'), 'false');
    assert.equal(await page.locator('[data-testid^="diff-row-regressed-"]').count(), 5);
    await page.screenshot({ path: join(screenshotDir, 'browser-eval-diff.png') });

    // The trend: one point per commit, with the chart.
    await page.goto(`${server.url}#/evals/trend?evalset=support-triage`);
    await page.locator('[data-testid="trend-chart"] svg').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-testid^="trend-row-"]').count(), 4);
    await page.screenshot({ path: join(screenshotDir, 'browser-eval-trend.png') });
    assert.deepEqual(problems, [], 'no console errors or CSP violations');
  } finally {
    server.stop();
  }
});

test('the Cost section shows the priced calls of imported traces, charted and broken down', async () => {
  const dir = makeWorkspace({ imported: true });
  const server = await serve(dir);
  try {
    const { page, problems } = await openPage(`${server.url}#/cost`);
    const total = page.locator('[data-testid="cost-total"]');
    await total.waitFor({ timeout: 15_000 });
    assert.match(await total.innerText(), /\$0\.\d+/, 'the sample calls cost something');
    await page.locator('[data-testid="cost-chart"] svg').waitFor();
    assert.ok((await page.locator('[data-testid="cost-chart"] svg title').count()) > 0, 'tooltips on the bars');
    // The panel shows "Loading…" until its breakdown answers: wait for its first row.
    await page.locator('[data-testid="cost-top-model-row-0"]').waitFor();
    assert.match(await page.locator('[data-testid="cost-top-model"]').innerText(), /gpt-4o-mini/);
    // The same numbers as the CLI.
    const report = JSON.parse(assay(['cost', '--json'], dir));
    assert.ok(report.total.cost > 0);
    assert.ok(report.total.requests > 0);
    assert.match(await page.locator('[data-testid="cost-requests"]').innerText(), new RegExp(String(report.total.requests)));
    await page.screenshot({ path: join(screenshotDir, 'browser-cost.png') });
    assert.deepEqual(problems, [], 'no console errors or CSP violations');
  } finally {
    server.stop();
  }
});
