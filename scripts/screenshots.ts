/**
 * `npm run screenshots`: regenerates docs/screenshots/*.png, the dashboard's main views as the service
 * README shows them. It starts the service in this process (SQLite in a temporary directory, API_TOKEN
 * set), sends it traffic (most confirmed, some refused for a while, a few dead-lettered, two held in
 * flight) for half a minute and on while it signs in through the page and photographs it at 1280 and
 * 390 px in headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../service/config.js';
import { startService } from '../service/service.js';
import { launchChromium, openPage } from '../test/service/support/browser.js';
import { call } from '../test/service/support/requests.js';
import { REPO_ROOT, tempDataDir } from '../test/service/support/service-process.js';
import { switchEndpoint } from '../test/service/support/switch-endpoint.js';

const TOKEN = 'screenshot-token-0123456789abcdef';
const TRAFFIC_MS = 30_000;
const out = join(REPO_ROOT, 'docs', 'screenshots');
mkdirSync(out, { recursive: true });

const data = tempDataDir('screenshots');
const endpoint = await switchEndpoint();
const service = await startService(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: data.dir,
    API_TOKEN: TOKEN,
    DEAD_LETTER_AFTER_ATTEMPTS: '4',
    REDELIVER_INTERVAL_MS: '1000',
    REDELIVERY_MAX_INTERVAL_MS: '2000',
    HTTP_TIMEOUT_MS: '120000',
  }),
  pino({ level: 'warn' }),
);
const baseUrl = `http://127.0.0.1:${service.address.port}`;
const browser = await launchChromium();
try {
  const send = (url: string, payload: Record<string, unknown>) =>
    call(baseUrl, 'POST', '/messages', { headers: { authorization: `Bearer ${TOKEN}` }, body: { destination: { transport: 'http', url }, payload } });
  endpoint.set('flaky', 'refuse');
  endpoint.set('dead', 'refuse');
  endpoint.set('held', 'hold');
  let running = true;
  const traffic = (async () => {
    for (let n = 0; running; n++) {
      // Bursts of varying size, so the chart has a shape.
      const burst = 3 + Math.round(6 * (1 + Math.sin(n / 4)));
      await Promise.all(Array.from({ length: burst }, (_, i) => send(`${endpoint.url}/orders`, { order: n * 100 + i })));
      if (n % 9 === 3) await send(`${endpoint.url}/shipping`, { mode: 'flaky', n });
      if (n === 30 || n === 50) await send(`${endpoint.url}/legacy-erp`, { mode: 'dead', n });
      if (n === 60) endpoint.set('flaky', 'accept');
      if (n === 90) {
        await send(`${endpoint.url}/orders`, { mode: 'held', order: 1 });
        await send(`${endpoint.url}/invoices?api_key=not-shown`, { mode: 'held', invoice: 7 });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, TRAFFIC_MS));

  const desktop = await openPage(browser, 1280, 900);
  await desktop.page.goto(baseUrl);
  await desktop.page.locator('#signin').waitFor();
  await desktop.page.screenshot({ path: join(out, 'sign-in.png') });
  await desktop.page.fill('#token', TOKEN);
  await desktop.page.getByRole('button', { name: 'Sign in' }).click();
  await desktop.page.locator('#live', { hasText: 'updates: live' }).waitFor();
  await desktop.page.locator('#dead-letters tr[data-delivery-id]').first().waitFor();
  await desktop.page.screenshot({ path: join(out, 'dashboard-1280.png'), fullPage: true });
  const first = await desktop.page.locator('#deliveries tr[data-delivery-id]').first().getAttribute('data-delivery-id');
  await desktop.page.getByRole('button', { name: `show delivery ${first}` }).click();
  await desktop.page.locator('#detail [data-field="status"]').waitFor();
  await desktop.page.locator('#detail').screenshot({ path: join(out, 'delivery.png') });
  const cookies = await desktop.page.context().cookies();
  await desktop.close();

  const phone = await openPage(browser, 390, 844);
  await phone.page.context().addCookies(cookies);
  await phone.page.goto(baseUrl);
  await phone.page.locator('#live', { hasText: 'updates: live' }).waitFor();
  await phone.page.locator('#dead-letters tr[data-delivery-id]').first().waitFor();
  await phone.page.screenshot({ path: join(out, 'dashboard-390.png') });
  await phone.page.locator('#deliveries').scrollIntoViewIfNeeded();
  await phone.page.screenshot({ path: join(out, 'in-flight-390.png') });
  await phone.close();
  running = false;
  await traffic;
  console.log(`screenshots written to ${out}: sign-in.png, dashboard-1280.png, delivery.png, dashboard-390.png, in-flight-390.png`);
} finally {
  await browser.close();
  await service.shutdown();
  await endpoint.close();
  data.remove();
}
