#!/usr/bin/env node
// axe-core (the engine of Ace by DAISY) on web pages, at several widths, in
// one headless Chromium.
//
//   node axe_page.js ACE_DIR WIDTHxHEIGHT[,WIDTHxHEIGHT...] URL...
//
// Prints one JSON object: {"URL @ WxH": [violation, ...], ...}, each
// violation as axe reports it (id, impact, help, nodes[].target).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

async function main() {
  const [aceDir, sizes, ...urls] = process.argv.slice(2);
  if (!aceDir || !sizes || urls.length === 0) {
    console.error('usage: node axe_page.js ACE_DIR WxH[,WxH...] URL...');
    process.exit(2);
  }
  const aceRequire = createRequire(path.join(path.resolve(aceDir), 'node_modules', '@daisy', 'ace', 'package.json'));
  const puppeteer = aceRequire('puppeteer');
  const axeSource = fs.readFileSync(aceRequire.resolve('@daisy/axe-core-for-ace/axe.min.js'), 'utf8');
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const results = {};
  try {
    const page = await browser.newPage();
    for (const url of urls) {
      for (const size of sizes.split(',')) {
        const [width, height] = size.split('x').map(Number);
        await page.setViewport({ width, height });
        await page.goto(url, { waitUntil: 'load' });
        await page.evaluate(axeSource);
        const found = await page.evaluate(async () => {
          const r = await window.axe.run(document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
          }));
        });
        results[`${url} @ ${size}`] = found;
      }
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results, null, 1));
}

main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
