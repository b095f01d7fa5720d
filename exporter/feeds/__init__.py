"""The feeds: papers -> Atom and RSS (feedgen), JSON Feed, RFC 5005 archives, OPDS.

``entries`` turns papers into feed entries; ``ext`` holds the feedgen
extensions and workarounds; ``writer`` writes the feed files; ``jsonfeed``
the JSON Feed.  Feeds never import the books.  The OPDS catalog of the
books is part of the published site (:mod:`exporter.site`).
"""
