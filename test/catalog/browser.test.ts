/**
 * The catalog in a real browser: playwright-core drives Debian's chromium over the site of rules/,
 * loaded from file:// as a reader would open it. Searches, filters by a tactic, opens a rule page,
 * switches target tabs with the mouse and the keyboard, copies a query, follows a heatmap cell; no
 * console error on the way. Screenshots of the index, the seed rule's page and the heatmap are saved
 * under build/screenshots/ to be looked at. Skipped (saying so) only when no chromium is installed:
 * `.ci/run` installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Catalog } from '../../src/catalog/index.js';
import { main } from '../../src/cli/main.js';
import { capture } from '../helpers/cli.js';
import { RULES_DIR } from '../harness/equivalence.js';

const CHROMIUM = process.env.RULEC_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOTS = new URL('../../build/screenshots/', import.meta.url).pathname;
const SEED_PAGE = 'rules/seed/custom_script_extension_executable_drop.html';
const SEED_TITLE = 'Executable Drop via Azure Custom Script Extension';

const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser) {
  console.warn(`test/catalog/browser.test.ts: skipped: no browser at ${CHROMIUM} (install Debian's chromium: apt-get install -y chromium, as .ci/run does; or set RULEC_CHROMIUM)`);
}

describe.skipIf(!hasBrowser)('the catalog in chromium, from file://', () => {
  let site: string;
  let catalog: Catalog;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    site = join(mkdtempSync(join(tmpdir(), 'rulec-catalog-browser-')), 'site');
    const c = capture();
    expect(await main(['catalog', RULES_DIR, '--out', site], c.io)).toBe(0);
    catalog = JSON.parse(readFileSync(join(site, 'catalog.json'), 'utf8')) as Catalog;
    mkdirSync(SCREENSHOTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 60_000 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // No request may leave the machine: the site is offline.
    await context.route(/^(?!file:)/, (route) => {
      errors.push(`network request: ${route.request().url()}`);
      return route.abort();
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  const url = (path: string, hash = ''): string => pathToFileURL(join(site, path)).href + hash;
  // The tests' TypeScript has no DOM types: the page is asked in its own language.
  const focused = (): Promise<unknown> => page.evaluate('document.activeElement && document.activeElement.id');
  const rows = (): Promise<string[]> => page.locator('#results tbody tr td:first-child').allTextContents();

  it('loads the index, searches, filters by a tactic', async () => {
    await page.goto(url('index.html'));
    expect(await rows()).toHaveLength(catalog.rules.length);
    await expect.poll(() => page.locator('#count').textContent()).toBe(`${catalog.rules.length} rules`);
    await page.screenshot({ path: join(SCREENSHOTS, 'index.png'), fullPage: true });

    await page.getByLabel('Search').fill('custom script');
    expect(await rows()).toEqual([SEED_TITLE]);
    expect(await page.locator('#count').textContent()).toBe(`1 of ${catalog.rules.length} rules`);
    // The filter is in the URL, so the view can be linked to.
    expect(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('q')).toBe('custom script');

    await page.getByLabel('Search').fill('');
    // Execution: the seed (T1651) and a rule tagged attack.execution with no technique.
    await page.getByLabel('Tactic').selectOption('TA0002');
    const execution = catalog.rules.filter((r) => r.attack.some((a) => a.tactic.id === 'TA0002')).map((r) => r.title);
    expect(execution).toEqual(expect.arrayContaining([SEED_TITLE, 'Admin Tool Launched Off Hours']));
    expect((await rows()).sort()).toEqual(execution.sort());

    await page.getByLabel('Level').selectOption('high');
    const high = catalog.rules.filter((r) => r.level === 'high' && r.attack.some((a) => a.tactic.id === 'TA0002'));
    expect(high.length).toBeGreaterThan(0);
    expect(await rows()).toHaveLength(high.length);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(rows).toHaveLength(catalog.rules.length);
  }, 60_000);

  it('opens a rule page and switches the target tabs with the mouse and the keyboard', async () => {
    await page.goto(url('index.html', '#q=custom%20script'));
    expect(await rows()).toEqual([SEED_TITLE]);
    await page.getByRole('link', { name: SEED_TITLE }).click();
    await page.waitForURL(/custom_script_extension_executable_drop\.html$/);
    expect(page.url()).toBe(url(SEED_PAGE));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(SEED_TITLE);
    await page.screenshot({ path: join(SCREENSHOTS, 'seed.png'), fullPage: true });

    const kusto = page.locator('#panel-kusto');
    const eql = page.locator('#panel-eql');
    expect(await kusto.isVisible()).toBe(true);
    expect(await eql.isVisible()).toBe(false);
    await page.getByRole('tab', { name: 'eql' }).click();
    expect(await eql.isVisible()).toBe(true);
    expect(await kusto.isVisible()).toBe(false);
    expect(await page.getByRole('tab', { name: 'eql' }).getAttribute('aria-selected')).toBe('true');
    const seed = catalog.rules.find((r) => r.page === SEED_PAGE)!;
    const eqlBody = seed.bodies.find((b) => b.target === 'eql')!;
    expect(await eql.locator('code').textContent()).toBe(eqlBody.ok ? eqlBody.query.replace(/\n$/, '') : '');

    // Keyboard: the arrow keys move between tabs (the selected tab holds the focus), End goes to the last.
    await page.getByRole('tab', { name: 'eql' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe('tab-spl');
    expect(await page.locator('#panel-spl').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect(await focused()).toBe('tab-ts');
    expect(await page.locator('#panel-ts').isVisible()).toBe(true);
    expect(await page.getByRole('tab', { name: 'spl' }).getAttribute('tabindex')).toBe('-1');

    await page.locator('#panel-ts').getByRole('button', { name: 'Copy ts query' }).click();
    await expect.poll(() => page.locator('#panel-ts .copy-status').textContent()).toMatch(/^Copied\.$|^Copy failed/);
  }, 60_000);

  it('follows a heatmap cell to the index filtered to its rules', async () => {
    await page.goto(url('attack.html'));
    const cell = page.locator('td[data-tactic="TA0008"][data-technique="T1021"]');
    const count = Number(await cell.getAttribute('data-count'));
    expect(count).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'attack.png'), fullPage: true });
    await cell.getByRole('link').click();
    await page.waitForURL(/index\.html#/);
    expect(await page.getByLabel('Tactic').inputValue()).toBe('TA0008');
    expect(await page.getByLabel('Technique').inputValue()).toBe('T1021');
    const shown = await rows();
    expect(shown).toHaveLength(count);
    expect(shown).toContain(SEED_TITLE);
  }, 60_000);

  it('lists the first 200 matches of a large collection, and all of them on request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-catalog-many-'));
    mkdirSync(join(dir, 'r'));
    for (let i = 0; i < 205; i++) {
      writeFileSync(join(dir, `r/rule${i}.yml`), `title: Rule number ${i}\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\tool${i}.exe'}\n  condition: sel\n`);
    }
    const c = capture();
    expect(await main(['catalog', join(dir, 'r'), '--out', join(dir, 'site'), '--target', 'kusto'], c.io)).toBe(0);
    await page.goto(pathToFileURL(join(dir, 'site/index.html')).href);
    expect(await rows()).toHaveLength(200);
    expect(await page.locator('#count').textContent()).toBe('205 rules, the first 200 listed');
    await page.getByRole('button', { name: 'List all 205 rules' }).click();
    expect(await rows()).toHaveLength(205);
    expect(await page.getByRole('button', { name: 'List all 205 rules' }).isVisible()).toBe(false);
    // Words match anywhere ("20" is in "120"): the file name singles these out.
    await page.getByLabel('Search').fill('rule20');
    expect((await rows()).sort()).toEqual(['Rule number 20', 'Rule number 200', 'Rule number 201', 'Rule number 202', 'Rule number 203', 'Rule number 204']);
  }, 60_000);

  it('logged no console error, page error or network request', () => {
    expect(errors).toEqual([]);
  });
});
