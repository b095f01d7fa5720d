#!/usr/bin/env node
// Opens EPUB files with epub.js (npm epubjs) in one headless Chromium, as a web reading
// system does: every spine item is displayed by a rendition, every image in it must load,
// every table-of-contents entry must resolve to a spine item (and its id), and the page
// must log no error.
//
//   node epubjs_books.js ACE_DIR HARNESS_URL BOOK_URL...
//
// ACE_DIR holds the puppeteer that .ci/install-ace.sh installed; HARNESS_URL is a page that
// loads jszip.min.js and epub.min.js and has a <div id="viewer">.  Prints one JSON object:
// {"BOOK_URL": {"problems": [...], "spine": n, "rendered": n, "nav": n, "images": n}}.
'use strict';

const path = require('path');
const { createRequire } = require('module');

async function openBook(url) {
  /* global ePub, document */
  const problems = [];
  const book = ePub(url, { openAs: 'epub' });
  await book.ready;
  const navigation = await book.loaded.navigation;
  const rendition = book.renderTo('viewer', { width: 600, height: 800, flow: 'scrolled-doc' });
  const spine = [];
  book.spine.each((section) => spine.push(section));
  let rendered = 0;
  let images = 0;
  for (const section of spine) {
    await rendition.display(section.href);
    const contents = rendition.getContents()[0];
    const doc = contents && contents.document;
    if (!doc || !doc.body || (!doc.body.textContent.trim() && !doc.querySelector('img'))) {
      problems.push(`${section.href}: rendered nothing`);
      continue;
    }
    rendered += 1;
    for (const img of doc.querySelectorAll('img')) {
      if (!img.complete) {
        await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; });
      }
      if (img.naturalWidth > 0) images += 1;
      else problems.push(`${section.href}: image ${img.getAttribute('src')} did not load`);
    }
  }
  const entries = [];
  const walk = (items) => items.forEach((item) => { entries.push(item); walk(item.subitems || []); });
  walk(navigation.toc);
  for (const item of entries) {
    const [href, fragment] = item.href.split('#');
    const section = book.spine.get(href);
    if (!section) {
      problems.push(`contents entry ${item.href}: no spine item`);
      continue;
    }
    if (fragment) {
      await section.load(book.load.bind(book));
      if (!section.document.getElementById(fragment)) problems.push(`contents entry ${item.href}: no such id`);
    }
  }
  rendition.destroy();
  book.destroy();
  return { problems, spine: spine.length, rendered, nav: entries.length, images };
}

async function main() {
  const [aceDir, harness, ...books] = process.argv.slice(2);
  if (!aceDir || !harness || books.length === 0) {
    console.error('usage: node epubjs_books.js ACE_DIR HARNESS_URL BOOK_URL...');
    process.exit(2);
  }
  const aceRequire = createRequire(path.join(path.resolve(aceDir), 'node_modules', '@daisy', 'ace', 'package.json'));
  const puppeteer = aceRequire('puppeteer');
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const results = {};
  try {
    for (const url of books) {
      const page = await browser.newPage();
      const logged = [];
      page.on('console', (msg) => { if (msg.type() === 'error') logged.push(`console: ${msg.text()}`); });
      page.on('pageerror', (err) => logged.push(`page error: ${err}`));
      page.on('requestfailed', (req) => logged.push(`request failed: ${req.url()}`));
      await page.goto(harness, { waitUntil: 'load' });
      let result;
      try {
        result = await page.evaluate(openBook, url);
      } catch (err) {
        result = { problems: [`epub.js failed: ${err}`], spine: 0, rendered: 0, nav: 0, images: 0 };
      }
      result.problems.push(...logged);
      results[url] = result;
      await page.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results, null, 1));
}

main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
