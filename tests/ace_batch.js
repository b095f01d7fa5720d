#!/usr/bin/env node
// Ace by DAISY on several EPUB files with ONE Chromium start.
//
//   node ace_batch.js ACE_DIR OUT_DIR BOOK.epub...
//
// ACE_DIR holds node_modules/@daisy/ace (npm install @daisy/ace).  Report i
// (Ace's JSON report, as `ace-puppeteer -o OUT_DIR/i BOOK` writes it) goes to
// OUT_DIR/i/report.json.  Ace's command line takes one book and starts and
// stops Chromium for it (ace-core's checker calls axeRunner.launch() and
// close() around every book); here the puppeteer runner is launched once and
// handed to ace-core with launch/close made no-ops.
'use strict';

const path = require('path');
const { createRequire } = require('module');

async function main() {
  const [aceDir, outDir, ...books] = process.argv.slice(2);
  if (!aceDir || !outDir || books.length === 0) {
    console.error('usage: node ace_batch.js ACE_DIR OUT_DIR BOOK.epub...');
    process.exit(2);
  }
  const aceRequire = createRequire(path.join(path.resolve(aceDir), 'node_modules', '@daisy', 'ace', 'package.json'));
  const winston = aceRequire('winston');
  winston.configure({
    level: 'warn',
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
  const ace = aceRequire('@daisy/ace-core');
  const runner = aceRequire('@daisy/ace-axe-runner-puppeteer');

  await runner.launch();  // --no-sandbox is among the runner's own launch args
  const shared = Object.assign(Object.create(runner), {
    launch: async () => {},
    close: async () => {},
  });
  let failed = 0;
  let next = 0;
  // Two books at a time: while one is unzipped and its report written
  // (node), the other's documents are in Chromium (each book's documents
  // already go four at a time, runner.concurrency).
  async function worker() {
    while (next < books.length) {
      const i = next++;
      try {
        await ace(books[i], {
          cwd: process.cwd(),
          outdir: path.join(outDir, String(i)),
          lang: 'en',
          silent: true,
          jobid: String(i),
        }, shared);
      } catch (err) {
        failed += 1;
        console.error(`ace failed on ${books[i]}: ${err && err.stack ? err.stack : err}`);
      }
    }
  }
  try {
    await Promise.all([worker(), worker()]);
  } finally {
    await runner.close();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
