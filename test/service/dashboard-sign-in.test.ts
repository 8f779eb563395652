/**
 * The dashboard behind API_TOKEN, in headless Chromium: the page offers a sign-in form, a wrong token
 * is refused, the right one sets the HttpOnly session cookie, with which the page reads the API,
 * follows the event stream and changes things (a cancel, a same-origin DELETE the cookie guard
 * accepts); signing out shows the form again.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage } from './support/browser.js';
import { startInProcess, type InProcessService } from './support/in-process-service.js';
import { call } from './support/requests.js';
import { tempDataDir } from './support/service-process.js';
import { switchEndpoint, type SwitchEndpoint } from './support/switch-endpoint.js';

const TOKEN = 'dashboard-test-token-0123456789';
const data = tempDataDir('dashboard-sign-in');
let browser: Browser;
let endpoint: SwitchEndpoint;
let node: InProcessService;

beforeAll(async () => {
  browser = await launchChromium();
  endpoint = await switchEndpoint();
  node = await startInProcess({ DATA_DIR: data.dir, API_TOKEN: TOKEN, REDELIVER_INTERVAL_MS: '500', REDELIVERY_MAX_INTERVAL_MS: '1000' });
});
afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await endpoint?.close();
  data.remove();
});

describe('the dashboard with API_TOKEN', () => {
  it('serves the page without a token, but neither the API nor the event stream', async () => {
    expect((await call(node.baseUrl, 'GET', '/')).status).toBe(200);
    expect((await call(node.baseUrl, 'GET', '/events')).json.error?.code).toBe('unauthorized');
    expect((await call(node.baseUrl, 'GET', '/deliveries')).status).toBe(401);
  });

  it('signs in with the token once, then works from the session cookie, and signs out', async () => {
    const { page, errors, close } = await openPage(browser);
    await page.goto(node.baseUrl);
    await page.locator('#signin').waitFor();
    await expect(page.locator('#app').isHidden()).resolves.toBe(true);

    await page.fill('#token', 'not-the-token-at-all-0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error', { hasText: 'That token is not valid.' }).waitFor();

    await page.fill('#token', TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#live', { hasText: 'updates: live' }).waitFor();
    await expect(page.locator('#signin').isHidden()).resolves.toBe(true);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'steadfast_session', httpOnly: true, sameSite: 'Strict' });

    endpoint.set('refused', 'refuse');
    const submitted = await call(node.baseUrl, 'POST', '/messages', {
      headers: { authorization: `Bearer ${TOKEN}` },
      body: { destination: { transport: 'http', url: endpoint.url }, payload: { mode: 'refused' } },
    });
    const id = submitted.json.deliveryId as number;
    const row = page.locator(`#deliveries tr[data-delivery-id="${id}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: `cancel delivery ${id}` }).click();
    await page.locator('#notice', { hasText: `Delivery ${id} cancelled` }).waitFor();
    const status = await call(node.baseUrl, 'GET', `/deliveries/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(status.json.status).toBe('cancelled');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#signin').waitFor();
    await page.reload();
    await page.locator('#signin').waitFor();
    // The browser logs the refused sign-in (401) as a failed load; nothing else went wrong.
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    await close();
  });
});
