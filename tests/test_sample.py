"""The bundled sample is what a new user sees first: it must be clean."""

from exporter.images import ImageOptions, load_images
from exporter.model import ThumbnailKind
from exporter.reader.parse import read_digests
from exporter.resources import sample_dir


def test_every_local_sample_thumbnail_is_shipped_beside_its_digest(tmp_path):
    result = read_digests([sample_dir()])
    assert not result.errors
    local = [p for d in result.digests for p in d.papers
             if p.thumbnail and p.thumbnail.kind is ThumbnailKind.IMAGE and not p.thumbnail.is_remote]
    assert len(local) >= 5
    images = load_images(local, ImageOptions(cache_dir=tmp_path, offline=True))
    assert images.failures == []
    assert all(images.get(p) is not None for p in local)
