/**
 * The dashboard in a real browser (headless Chromium through playwright-core) against the service
 * started in this process: it loads without console errors, follows a submitted message from in
 * flight to confirmed, filters, shows a dead letter and redrives or cancels it by a click, and fits 390 px.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, type WatchedPage } from './support/browser.js';
import { startInProcess, type InProcessService } from './support/in-process-service.js';
import { call } from './support/requests.js';
import { tempDataDir } from './support/service-process.js';
import { switchEndpoint, type SwitchEndpoint } from './support/switch-endpoint.js';

let browser: Browser;
let endpoint: SwitchEndpoint;

beforeAll(async () => {
  browser = await launchChromium();
  endpoint = await switchEndpoint();
});
afterAll(async () => {
  await browser?.close();
  await endpoint?.close();
});

async function submit(node: InProcessService, payload: Record<string, unknown>, url = endpoint.url): Promise<number> {
  const answer = await call(node.baseUrl, 'POST', '/messages', { body: { destination: { transport: 'http', url }, payload } });
  expect(answer.status).toBe(202);
  return answer.json.deliveryId as number;
}

/** Opens the dashboard and waits until the event stream delivered its first snapshot. */
async function openDashboard(node: InProcessService, width = 1280): Promise<WatchedPage> {
  const watched = await openPage(browser, width);
  await watched.page.goto(node.baseUrl);
  await watched.page.locator('#live', { hasText: 'updates: live' }).waitFor();
  return watched;
}

const row = (page: Page, table: string, id: number) => page.locator(`#${table} tr[data-delivery-id="${id}"]`);

describe('the dashboard of a service without API_TOKEN', () => {
  const data = tempDataDir('dashboard');
  let node: InProcessService;
  let watched: WatchedPage;

  beforeAll(async () => {
    node = await startInProcess({ DATA_DIR: data.dir, REDELIVER_INTERVAL_MS: '300', REDELIVERY_MAX_INTERVAL_MS: '600', HTTP_TIMEOUT_MS: '30000' });
    watched = await openDashboard(node);
  });
  afterAll(async () => {
    await watched?.close();
    await node?.stop();
    data.remove();
  });

  it('loads with health, role and figures as text, and no console errors', async () => {
    const { page } = watched;
    await expect(page.locator('#status').textContent()).resolves.toBe('status: ok');
    await expect(page.locator('#role').textContent()).resolves.toBe('role: active');
    await expect(page.locator('[data-check="journal"]').textContent()).resolves.toContain('ok (writable)');
    await expect(page.locator('[data-figure="inFlight"] dd').textContent()).resolves.toBe('0');
    await expect(page.locator('#signin').isHidden()).resolves.toBe(true);
    expect(watched.errors).toEqual([]);
  });

  it('shows a submitted message in flight, then confirmed, without reloading', async () => {
    const { page } = watched;
    endpoint.set('held', 'hold');
    const id = await submit(node, { mode: 'held' });
    await row(page, 'deliveries', id).locator('td[data-label="status"]', { hasText: 'sent, awaiting confirmation' }).waitFor();
    // Sent again while the first attempt is held (REDELIVER_INTERVAL_MS): still one delivery.
    await expect(row(page, 'deliveries', id).locator('td[data-label="attempts"]').textContent()).resolves.toMatch(/^[1-9]\d*$/);
    await row(page, 'deliveries', id)
      .getByRole('button', { name: `show delivery ${id}` })
      .click();
    await page.locator('#detail [data-field="status"]', { hasText: 'in-flight' }).waitFor();

    endpoint.set('held', 'accept');
    await page.locator('#detail [data-field="status"]', { hasText: 'confirmed' }).waitFor();
    await row(page, 'deliveries', id).waitFor({ state: 'detached' });
    await page.locator('[data-figure="confirmed"] dd', { hasText: /^[1-9]/ }).waitFor();
    expect(watched.errors).toEqual([]);
  });

  it('filters deliveries in flight by status and destination, and shows the last error', async () => {
    const { page } = watched;
    endpoint.set('failing', 'refuse');
    endpoint.set('waiting', 'hold');
    const failing = await submit(node, { mode: 'failing' }, `${endpoint.url}/orders`);
    const held = await submit(node, { mode: 'waiting' }, `${endpoint.url}/invoices`);
    await row(page, 'deliveries', failing).locator('td[data-label="last error"]', { hasText: '500' }).waitFor();
    await row(page, 'deliveries', held).waitFor();
    await expect(row(page, 'deliveries', failing).locator('td[data-label="status"]').textContent()).resolves.toBe('failing, will retry');
    await expect(row(page, 'deliveries', failing).locator('td[data-label="next attempt"]').textContent()).resolves.toMatch(/^(in \d+ s|now)/);

    await page.selectOption('#filter-status', 'failing');
    await page.getByRole('button', { name: 'Filter' }).click();
    await row(page, 'deliveries', held).waitFor({ state: 'detached' });
    await expect(row(page, 'deliveries', failing).isVisible()).resolves.toBe(true);

    await page.selectOption('#filter-status', '');
    await page.fill('#filter-destination', 'INVOICES');
    await page.getByRole('button', { name: 'Filter' }).click();
    await row(page, 'deliveries', failing).waitFor({ state: 'detached' });
    await expect(row(page, 'deliveries', held).isVisible()).resolves.toBe(true);
    await expect(page.locator('#deliveries-count').textContent()).resolves.toBe('1 delivery match the filter');

    await page.fill('#filter-destination', 'nowhere');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#deliveries td', { hasText: 'No delivery in flight matches.' }).waitFor();
    await page.fill('#filter-destination', '');
    await page.getByRole('button', { name: 'Filter' }).click();
    await row(page, 'deliveries', held).waitFor();
    expect(watched.errors).toEqual([]);
  });

  it('cancels a delivery in flight by a click', async () => {
    const { page } = watched;
    endpoint.set('to-cancel', 'refuse');
    const id = await submit(node, { mode: 'to-cancel' });
    await row(page, 'deliveries', id).waitFor();
    await row(page, 'deliveries', id)
      .getByRole('button', { name: `cancel delivery ${id}` })
      .click();
    await page.locator('#notice', { hasText: `Delivery ${id} cancelled` }).waitFor();
    await row(page, 'deliveries', id).waitFor({ state: 'detached' });
    expect((await call(node.baseUrl, 'GET', `/deliveries/${id}`)).json.status).toBe('cancelled');
  });

  it('has no horizontal scroll at 390 px or 1280 px, with long destinations and errors on the page', async () => {
    endpoint.set('long', 'refuse');
    const id = await submit(node, { mode: 'long' }, `${endpoint.url}/${'a-very-long-path-segment-'.repeat(8)}?tenant=${'x'.repeat(80)}`);
    for (const width of [390, 1280]) {
      const narrow = await openDashboard(node, width);
      await row(narrow.page, 'deliveries', id).locator('td[data-label="last error"]', { hasText: '500' }).waitFor();
      // A string: the test's TypeScript has no DOM types; the browser runs it.
      const overflow = await narrow.page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow, `${width} px`).toBeLessThanOrEqual(0);
      expect(narrow.errors).toEqual([]);
      await narrow.close();
    }
  });
});

describe('dead letters on the dashboard', () => {
  const data = tempDataDir('dashboard-dead');
  let node: InProcessService;

  beforeAll(async () => {
    node = await startInProcess({ DATA_DIR: data.dir, DEAD_LETTER_AFTER_ATTEMPTS: '1', REDELIVER_INTERVAL_MS: '200', REDELIVERY_MAX_INTERVAL_MS: '400' });
  });
  afterAll(async () => {
    await node?.stop();
    data.remove();
  });

  it('shows a delivery its destination refused as a dead letter, and redrives it by a click', async () => {
    const watched = await openDashboard(node);
    const { page } = watched;
    endpoint.set('dead', 'refuse');
    const id = await submit(node, { mode: 'dead' });
    const dead = row(page, 'dead-letters', id);
    await dead.waitFor();
    await expect(dead.locator('td[data-label="attempts"]').textContent()).resolves.toBe('1');
    await expect(dead.locator('td[data-label="reason"]').textContent()).resolves.toMatch(/500/);
    await expect(page.locator('#dead-count').textContent()).resolves.toBe('1 dead letter');

    endpoint.set('dead', 'accept');
    await dead.getByRole('button', { name: `redrive dead letter ${id}` }).click();
    const notice = await page.locator('#notice', { hasText: 'sent again as delivery' }).textContent();
    const redrivenAs = Number(/as delivery (\d+)/.exec(notice ?? '')?.[1]);
    expect(redrivenAs).toBeGreaterThan(id);
    await dead.waitFor({ state: 'detached' });
    await page.locator('#dead-letters td', { hasText: 'No dead letters.' }).waitFor();
    await page.locator('[data-figure="confirmed"] dd', { hasText: '1' }).waitFor();
    expect((await call(node.baseUrl, 'GET', `/deliveries/${id}`)).json).toMatchObject({ status: 'redriven', redrivenAs });
    expect(watched.errors).toEqual([]);
    await watched.close();
  });

  it('cancels a dead letter by a click: it leaves the list and its status says cancelled; the row fits 390 px', async () => {
    const watched = await openDashboard(node, 390);
    const { page } = watched;
    endpoint.set('dead-cancel', 'refuse');
    const id = await submit(node, { mode: 'dead-cancel' });
    const dead = row(page, 'dead-letters', id);
    await dead.waitFor();
    const cancel = dead.getByRole('button', { name: `cancel dead letter ${id}` });
    await expect(cancel.textContent()).resolves.toBe('Cancel');
    await expect(dead.getByRole('button', { name: `redrive dead letter ${id}` }).isVisible()).resolves.toBe(true);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow, '390 px').toBeLessThanOrEqual(0);

    await cancel.click();
    await page.locator('#notice', { hasText: `Dead letter ${id} cancelled: it is not sent again.` }).waitFor();
    await dead.waitFor({ state: 'detached' });
    await page.locator('#dead-letters td', { hasText: 'No dead letters.' }).waitFor();
    expect((await call(node.baseUrl, 'GET', `/deliveries/${id}`)).json).toMatchObject({ status: 'cancelled', deliveryId: id, attempts: 1 });
    expect((await call(node.baseUrl, 'GET', '/dead-letters')).json.count).toBe(0);
    expect(watched.errors).toEqual([]);
    await watched.close();
  });
});
