// The web UI in a real browser (Debian's Chromium, headless) against a real `assay serve`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { makeWorkspace, serve, screenshotDir, repoRoot, SAMPLE, PRODUCERS } from './lib.mjs';

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
