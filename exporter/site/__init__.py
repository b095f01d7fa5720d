"""The published site: what ``build`` writes for people and their reading apps to browse.

* :mod:`.opds` reads the finished EPUB files and writes the OPDS catalog
  (``catalog.opds``, its pages, facets and crawlable feed);
* :mod:`.catalog_records` remembers what the catalog read of each book, so an
  unchanged book is not opened again;
* :mod:`.frontpage` writes ``index.html``, the front page of the folder.

The site reads the books as files (never the book writer) and the feeds'
names and media types; the pipeline calls it after the books and feeds.
"""
