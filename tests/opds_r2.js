// Reads OPDS pages with Readium's r2-opds-js, as Thorium Reader does: an
// OPDS 1 page through xmldom + r2-utils-js's XML mapper into r2-opds-js's
// OPDS model, then convertOpds1ToOpds2; an OPDS 2 page through TaJson into
// OPDSFeed.  Prints, per file, what the reader found: publications (title,
// acquisition links, images), feed links and facets.  Usage:
//   NODE_PATH=DIR/node_modules node opds_r2.js OUTPUT.json PAGE...
// (to a file: r2-opds-js logs to stdout, e.g. for a publication without images)
"use strict";
require("reflect-metadata");
const fs = require("fs");
const { DOMParser } = require("@xmldom/xmldom");
const { XML } = require("r2-utils-js/dist/es8-es2017/src/_utils/xml-js-mapper");
const { initGlobalConverters_OPDS } = require("r2-opds-js/dist/es8-es2017/src/opds/init-globals");
const { initGlobalConverters_GENERIC } = require("r2-shared-js/dist/es8-es2017/src/init-globals");
const { OPDS } = require("r2-opds-js/dist/es8-es2017/src/opds/opds1/opds");
const { OPDSFeed } = require("r2-opds-js/dist/es8-es2017/src/opds/opds2/opds2");
const { convertOpds1ToOpds2 } = require("r2-opds-js/dist/es8-es2017/src/opds/converter");
const { TaJsonDeserialize } = require("r2-lcp-js/dist/es8-es2017/src/serializable");

initGlobalConverters_GENERIC();
initGlobalConverters_OPDS();

const rels = (l) => (Array.isArray(l.Rel) ? l.Rel : l.Rel ? [l.Rel] : []);
const link = (l) => ({ href: l.Href, type: l.TypeLink, rel: rels(l), title: l.Title });

function read(path) {
    const text = fs.readFileSync(path, "utf8");
    let feed;
    if (path.endsWith(".json")) {
        feed = TaJsonDeserialize(JSON.parse(text), OPDSFeed);
    } else {
        const doc = new DOMParser().parseFromString(text, "application/xml");
        feed = convertOpds1ToOpds2(XML.deserialize(doc, OPDS));
    }
    return {
        title: feed.Metadata && feed.Metadata.Title,
        links: (feed.Links || []).map(link),
        facets: (feed.Facets || []).map((f) => ({ title: f.Metadata && f.Metadata.Title,
                                                    links: (f.Links || []).map(link) })),
        publications: (feed.Publications || []).map((p) => ({
            title: p.Metadata && p.Metadata.Title,
            links: (p.Links || []).map(link),
            images: (p.Images || []).map(link),
        })),
    };
}

const out = {};
for (const path of process.argv.slice(3)) {
    out[path] = read(path);
}
fs.writeFileSync(process.argv[2], JSON.stringify(out));
