// Opens a report.html in a real headless Chromium (Debian's, driven by playwright-core) and checks what a
// person would see: every loss polyline drawn with a non-empty box and as many points as its series,
// the tables' rows, the banners, hostile text shown as text (no script ran, no element injected), no
// console error, no request for anything, and a screenshot that is not blank.
//
// usage: node browser-check.cjs REPORT.html EXPECT.json SCREENSHOT.png
// env:   BROWSER_CHECK_NODE_MODULES (holds playwright-core), BROWSER_CHECK_CHROMIUM (default /usr/bin/chromium)
'use strict';
const path = require('path');
const fs = require('fs');

const [reportPath, expectPath, screenshotPath] = process.argv.slice(2);
const modules = process.env.BROWSER_CHECK_NODE_MODULES;
const { chromium } = require(path.join(modules, 'playwright-core'));
const expected = JSON.parse(fs.readFileSync(expectPath, 'utf8'));

const problems = [];
const check = (ok, message) => { if (!ok) problems.push(message); };

(async () => {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: process.env.BROWSER_CHECK_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1150, height: 900 } });
    const consoleErrors = [];
    const requests = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const url = 'file://' + path.resolve(reportPath);
    page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });

    const seen = await page.evaluate(() => {
      const polylines = [...document.querySelectorAll('svg polyline')].map((p) => {
        const box = p.getBBox();
        const onScreen = p.getBoundingClientRect();
        return {
          series: p.dataset.series,
          points: p.points.numberOfItems,
          declared: Number(p.dataset.points),
          box: { width: box.width, height: box.height },
          screen: { width: onScreen.width, height: onScreen.height },
          stroke: getComputedStyle(p).stroke,
        };
      });
      const rows = {};
      for (const t of document.querySelectorAll('table[id]')) rows[t.id] = t.querySelectorAll('tbody tr').length;
      return {
        polylines,
        rows,
        ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
        text: document.body.innerText,
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img').length,
        bold: document.querySelectorAll('td b, td pre b').length,
        pwned: window.__pwned === undefined ? null : window.__pwned,
        chart: (() => { const r = document.querySelector('#loss-chart')?.getBoundingClientRect(); return r ? { width: r.width, height: r.height } : null; })(),
      };
    });

    for (const want of expected.polylines) {
      const got = seen.polylines.filter((p) => p.series === want.series);
      check(got.length === 1, `series ${want.series}: ${got.length} polylines, want 1`);
      for (const p of got) {
        check(p.points === want.points, `series ${want.series}: ${p.points} points drawn, want ${want.points}`);
        check(p.declared === want.points, `series ${want.series}: data-points ${p.declared}, want ${want.points}`);
        check(p.box.width > 0 && p.box.height > 0, `series ${want.series}: empty bounding box ${JSON.stringify(p.box)}`);
        check(p.screen.width > 0 && p.screen.height > 0, `series ${want.series}: not visible on screen`);
        check(p.stroke && p.stroke !== 'none', `series ${want.series}: no stroke`);
      }
    }
    check(seen.polylines.length === expected.polylines.length, `${seen.polylines.length} polylines, want ${expected.polylines.length}`);
    check(seen.chart && seen.chart.width > 300 && seen.chart.height > 150, `chart too small: ${JSON.stringify(seen.chart)}`);
    for (const [table, count] of Object.entries(expected.tables)) {
      check(seen.rows[table] === count, `table #${table}: ${seen.rows[table]} rows, want ${count}`);
    }
    for (const id of expected.ids) check(seen.ids.includes(id), `no element #${id}`);
    for (const text of expected.texts) check(seen.text.includes(text), `text not shown as text: ${JSON.stringify(text)}`);
    check(seen.scripts === 0, `${seen.scripts} script elements`);
    check(seen.images === 0, `${seen.images} img elements`);
    check(seen.bold === 0, `${seen.bold} <b> elements injected from dataset text`);
    check(seen.pwned === null, `hostile text ran: window.__pwned = ${seen.pwned}`);
    check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
    check(requests.length === 0, `the page requested: ${requests.join(', ')}`);

    // Not blank: decode the screenshot in a blank page's canvas and count colours and ink.
    const png = await page.screenshot({ path: screenshotPath, fullPage: true });
    const blank = await browser.newPage();
    const pixels = await blank.evaluate(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width; canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const colours = new Set();
      let ink = 0;
      for (let i = 0; i < data.length; i += 4 * 7) {
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) ink++;
      }
      return { width: img.width, height: img.height, colours: colours.size, ink: ink / (data.length / (4 * 7)) };
    }, png.toString('base64'));
    check(pixels.colours >= 16, `screenshot has ${pixels.colours} colours: blank?`);
    check(pixels.ink > 0.01, `screenshot is ${(pixels.ink * 100).toFixed(2)}% ink: blank?`);

    console.log(JSON.stringify({
      polylines: seen.polylines.map((p) => `${p.series}:${p.points}`),
      rows: seen.rows,
      screenshot: { ...pixels, path: screenshotPath },
      seconds: (Date.now() - started) / 1000,
      problems,
    }));
  } finally {
    await browser.close();
  }
  process.exit(problems.length ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
