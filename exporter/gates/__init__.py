"""Gates: the one way in for each kind of untrusted input.

Each module is the only code that reads its kind of input, so that a rule
about that input (regular files only, a BOM anywhere, how a file name is
shown) holds everywhere by construction, not one caller at a time:

- :mod:`exporter.gates.files`: opening files (regular files only, checked
  on the open descriptor, never blocking, a size cap per kind) and walking
  input folders (depth bound, link loops walked once);
- :mod:`exporter.gates.text`: bytes to text (a BOM anywhere, NUL bytes,
  UTF-8 or a legacy Korean encoding);
- :mod:`exporter.gates.names`: file names shown on a terminal (quoted as
  ``ls`` does) and written to JSON (valid UTF-8, undecodable bytes escaped);
- :mod:`exporter.gates.urls`: URLs and hosts, by one WHATWG URL parser
  (``ada-url``) with IDNA 2008 / UTS #46 hosts;
- :mod:`exporter.gates.langtags`: BCP 47 language tags (``langcodes``);
- :mod:`exporter.gates.documents`: documents the program wrote earlier and
  reads back (the build state, the send ledger, the thumbnail cache, foreign
  EPUB metadata), by one typed schema library (``msgspec``);
- :mod:`exporter.gates.addresses`: e-mail addresses (``email-validator``);
- :mod:`exporter.gates.numbers`: counts (vote counts, integer options):
  ASCII digits, bounded;
- :mod:`exporter.gates.css`: the resources a user's stylesheet names
  (``tinycss2``, judged by the URL gate).

Gates sit at the bottom of the import layers: they import nothing from the
package but other gates and the model (its frozen data and its one text
cleaning).
"""
