// SPDX-License-Identifier: BSD-2-Clause
// node view-html.mjs FILE.html: opens an export --html file in headless
// Chromium with every network request refused, plays it to its end and
// prints JSON: the terminal's text, refused requests, page errors, player
// events. For tests/integration/replay-html.sh (needs playwright-core from
// replay/player/node_modules, and /usr/bin/chromium).
// ESM ignores NODE_PATH: resolve playwright-core through it by hand.
import { createRequire } from 'node:module';
const require = createRequire((process.env.NODE_PATH || '.') + '/');
const { chromium } = require('playwright-core');

const [file] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
const refused = [];
const errors = [];
await page.route('**/*', (route) => {
  const u = route.request().url();
  if (u.startsWith('file://') || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
  refused.push(u);
  return route.abort();
});
page.on('pageerror', (e) => errors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
await page.goto(`file://${file}`);
await page.waitForFunction(() => window.player !== undefined, null, { timeout: 10000 });
await page.evaluate(() => window.player.play());
await page.waitForFunction(() => window.events.includes('ended'), null, { timeout: 20000 });
const text = await page.evaluate(() => document.querySelector('.ap-term, .ap-terminal, pre')?.innerText ?? '');
const facts = await page.evaluate(() => document.querySelector('table.facts')?.innerText ?? '');
const scripts = await page.evaluate(() => document.querySelectorAll('script').length);
console.log(JSON.stringify({ text, facts, refused, errors, events: await page.evaluate(() => window.events), scripts }));
await browser.close();
