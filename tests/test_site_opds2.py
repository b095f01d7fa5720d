"""The OPDS 2.0 twins of the catalog pages: the same books, links and facets, valid by the schema's rules.

The OPDS 2.0 JSON Schemas (opds-community/specs, with Readium's Web
Publication Manifest schemas they refer to) are not part of this project:
the rules they set that these pages meet are written out below as a schema
of our own.  With DIGEST_EXPORT_OPDS_SCHEMAS naming a folder holding the
real schema files (any layout; each is found by its ``$id``), every page is
validated against them as well.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from catalog_helpers import ATOM, day_book, links, parse, write_days
from hostile_three import marked_document

from exporter.feeds.writer import FeedReport
from exporter.site.opds import write_catalog

BASE = "https://example.org/papers/"
ACQUISITIONS = ["http://opds-spec.org/acquisition", "acquisition"]

_LINK = {"type": "object", "required": ["href"],
         "properties": {"href": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"},
                        "rel": {"type": ["string", "array"]}, "size": {"type": "integer", "exclusiveMinimum": 0},
                        "width": {"type": "integer", "exclusiveMinimum": 0},
                        "properties": {"type": "object",
                                       "properties": {"numberOfItems": {"type": "integer", "minimum": 0}}}}}
_LINKS = {"type": "array", "items": _LINK, "minItems": 1, "uniqueItems": True}
_TITLE = {"type": ["string", "array", "object"]}
#: The rules of feed.schema.json and publication.schema.json (OPDS 2.0) that apply to these pages.
OUR_SCHEMA = {
    "type": "object",
    "required": ["metadata", "links"],
    "anyOf": [{"required": ["publications"]}, {"required": ["navigation"]}],
    "properties": {
        "metadata": {"type": "object", "required": ["title"],
                     "properties": {"title": _TITLE, "modified": {"type": "string", "format": "date-time"},
                                    "itemsPerPage": {"type": "integer", "exclusiveMinimum": 0}}},
        "links": {**_LINKS, "contains": {"required": ["rel"], "properties": {"rel": {"const": "self"}}}},
        "navigation": {**_LINKS, "items": {**_LINK, "required": ["href", "title"]}},
        "facets": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["metadata", "links"],
            "properties": {"metadata": {"type": "object", "required": ["title"]}, "links": _LINKS}}},
        "publications": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {
            "type": "object", "required": ["metadata", "links"],
            "properties": {
                "metadata": {"type": "object", "required": ["title"], "properties": {
                    "title": _TITLE, "identifier": {"type": "string", "format": "uri"},
                    "modified": {"type": "string", "format": "date-time"},
                    "published": {"type": "string", "format": "date"},
                    "language": {"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"},
                    "author": {"type": "array", "items": {"type": "object", "required": ["name"]}},
                    "belongsTo": {"type": "object", "properties": {"series": {"type": "array", "items": {
                        "type": "object", "required": ["name"],
                        "properties": {"position": {"type": "number"}}}}}}}},
                "links": {"type": "array", "items": _LINK,
                          "contains": {"properties": {"rel": {"enum": ACQUISITIONS}}, "required": ["rel"]}},
                "images": {"type": "array", "items": _LINK, "minItems": 1,
                           "contains": {"properties": {"type": {"enum": ["image/jpeg", "image/png", "image/gif",
                                                                         "image/webp", "image/avif"]}}}}}}},
    },
}


def _real_validator():
    folder = os.environ.get("DIGEST_EXPORT_OPDS_SCHEMAS")
    if not folder:
        return None
    from referencing import Registry, Resource

    resources = []
    for path in Path(folder).rglob("*.schema.json"):
        # ECMA-262 named groups (the BCP 47 pattern) in Python's spelling
        schema = json.loads(re.sub(r"\(\?<(?=[A-Za-z])", "(?P<", path.read_text(encoding="utf-8")))
        resources.append((schema["$id"], Resource.from_contents(schema)))
        if schema["$id"] == "https://specs.opds.io/schema/properties.schema.json":  # referred to by this name
            resources.append(("https://drafts.opds.io/schema/properties.schema.json",
                              Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    feed = registry.contents("https://specs.opds.io/schema/feed.schema.json")
    return jsonschema.Draft7Validator(feed, registry=registry, format_checker=jsonschema.FormatChecker())


def _check(out: Path) -> list[str]:
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    ours = jsonschema.Draft7Validator(OUR_SCHEMA, format_checker=jsonschema.FormatChecker())
    real = _real_validator()
    for name in pages:
        doc = json.loads((out / name).read_text(encoding="utf-8"))
        for validator in filter(None, (ours, real)):
            errors = [f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in validator.iter_errors(doc)]
            assert errors == []
    return pages


def test_every_page_has_a_valid_twin_with_the_same_books_and_links(tmp_path):
    out = tmp_path / "out"
    write_days(out, dt.date(2023, 12, 1), 70, today=dt.date(2024, 2, 8), base_url=BASE,
               selections=(("llm", "Language models"),))
    pages = _check(out)
    assert len(pages) == len(list(out.rglob("*.opds"))) > 5
    for name in pages:
        atom = parse(out / name.replace(".json", ".opds"))
        doc = json.loads((out / name).read_text(encoding="utf-8"))
        # One key per line, indented by one space, characters as written: the bytes json.dumps gives.
        assert (out / name).read_bytes() == (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        assert links(atom, "alternate")[0].get("href") == BASE + name
        assert [p["metadata"]["title"] for p in doc.get("publications", [])] == \
            [e.findtext(f"{ATOM}title") for e in atom.findall(f"{ATOM}entry")]
        rels = {link["rel"]: link["href"] for link in doc["links"]}
        for rel in ("next", "previous", "first", "last"):
            twin = links(atom, rel)
            assert rels.get(rel) == (twin[0].get("href").replace(".opds", ".json") if twin else None), (name, rel)
        groups = {f["metadata"]["title"]: [link["title"] for link in f["links"]] for f in doc["facets"]}
        assert groups == {"Status": ["Finished books", "In progress"], "By year": ["2024", "2023"],
                          "Selections": ["Language models"]}
    current = json.loads((out / "catalog-current.json").read_text(encoding="utf-8"))
    assert current["publications"][0]["links"][0]["href"].startswith(BASE + "daily-papers-2024-02-08.epub?v=")


def test_publication_links_kepub_cover_and_thumbnail(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    from PIL import Image

    Image.new("RGB", (600, 900), (30, 60, 90)).save(out / "cover.jpg")
    book = day_book(out, dt.date(2024, 3, 4))
    from dataclasses import replace

    book = replace(book, cover=((out / "cover.jpg").read_bytes(), "image/jpeg"))
    (out / "daily-papers-2024-03-04.kepub.epub").write_bytes(marked_document("x.kepub.epub"))  # the program's copy
    write_catalog(out, None, FeedReport(title="Daily Papers"), reader=lambda p: book, books=[book.path],
                  today=dt.date(2024, 3, 5))
    _check(out)
    (pub,) = json.loads((out / "catalog.json").read_text(encoding="utf-8"))["publications"]
    assert [(link["href"], link["type"]) for link in pub["links"]] == [
        ("daily-papers-2024-03-04.epub", "application/epub+zip"),
        ("daily-papers-2024-03-04.kepub.epub", "application/kepub+zip")]
    assert [(i["href"], i["type"]) for i in pub["images"]] == [
        ("daily-papers-2024-03-04.cover.thumb.jpg", "image/jpeg"), ("daily-papers-2024-03-04.cover.jpg", "image/jpeg")]
    assert pub["metadata"]["belongsTo"]["series"][0]["position"] == dt.date(2024, 3, 4).toordinal()
    with Image.open(out / "daily-papers-2024-03-04.cover.thumb.jpg") as thumb:
        assert thumb.format == "JPEG" and 240 <= thumb.width <= 400
    assert (out / "daily-papers-2024-03-04.cover.thumb.jpg").stat().st_size < 20_000


@pytest.mark.skipif(not os.environ.get("DIGEST_EXPORT_OPDS_SCHEMAS"), reason="the real schemas are not given")
def test_the_real_schemas_catch_a_publication_without_acquisition():
    validator = _real_validator()
    doc = {"metadata": {"title": "x"}, "links": [{"rel": "self", "href": "x.json", "type": "application/opds+json"}],
           "publications": [{"metadata": {"title": "b"}, "links": [{"rel": "alternate", "href": "b.html"}]}]}
    assert list(validator.iter_errors(doc))
