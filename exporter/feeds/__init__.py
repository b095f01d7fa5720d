"""The feeds: papers -> Atom and RSS (feedgen), JSON Feed, RFC 5005 archives, OPDS.

``entries`` turns papers into feed entries; ``ext`` holds the feedgen
extensions and workarounds; ``writer`` writes the feed files; ``jsonfeed``
and ``opds`` the JSON Feed and the catalog of the books.  Feeds never import
the books (the catalog reads finished EPUB files).
"""
