"""Fetch, cache and convert paper thumbnails for embedding in books.

This is the only package of digest-export that touches the network.  It is
written for thumbnails named by text that a bot wrote and served by someone
else's server, so every step has a bound and every failure is data:

* :mod:`.fetch`: HTTP through httpx, connections pooled per host, with a
  size cap and our own redirect loop (every hop checked);
* :mod:`.netguard`: no fetch from loopback, private or link-local
  addresses unless allowed (SSRF), and a total deadline per thumbnail that
  covers name lookup, connect, TLS and every read;
* :mod:`.convert`: only real images of bounded size, scaled and re-encoded
  without metadata;
* :mod:`.cache`: converted images, and permanent failures remembered for a
  week, in the user's cache folder;
* :mod:`.load`: the thread pool that runs all of it for a set of papers.
"""

from .load import load_images
from .model import (
    EmbeddedImage, Failure, ImageFailure, ImageOptions, ImageResults, failure_summary, image_key,
)

__all__ = ["EmbeddedImage", "Failure", "ImageFailure", "ImageOptions", "ImageResults",
           "failure_summary", "image_key", "load_images"]
