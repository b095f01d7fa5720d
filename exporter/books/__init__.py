"""The books: bundles of days -> EPUB files (ebooklib, templates, covers, workers).

``epub`` makes one book; ``cover`` draws its cover; ``workers`` builds many
in forked processes.  Books never import the feeds.
"""
