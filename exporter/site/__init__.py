"""The published site: what ``build`` writes for people and their reading apps to browse.

* :mod:`.opds` reads the EPUB files (:mod:`.book`: what the catalog knows of
  one) and writes the OPDS catalog and the covers and thumbnails it links;
* :mod:`.catalog` decides its pages (paged newest first, finished books in
  ``catalog.opds``, the unfinished one apart, one feed a year, the crawlable
  feed) and the facets they share; :mod:`.atom` writes each page as OPDS 1.2,
  :mod:`.opds2` as its OPDS 2.0 twin;
* :mod:`.catalog_records` remembers what the catalog read of each book, so an
  unchanged book is not opened again;
* :mod:`.frontpage` writes ``index.html``, the front page of the folder.

The site reads the books as files (never the book writer) and the feeds'
names and media types; the pipeline calls it after the books and feeds.
"""
