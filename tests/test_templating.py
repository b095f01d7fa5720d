
import pytest

from epub_fixtures import NS, unzip, user_templates, write_week, xml
from exporter.books.epub import EpubOptions
from exporter.pipeline import build_epubs
from exporter.errors import TemplateError
from exporter.reader.parse import read_digests
from exporter.resources import templates_dir
from exporter.templating import make_environment, render_template


def test_packaged_templates_exist():
    for name in ("day.xhtml.j2", "cover.xhtml.j2", "epub.css"):
        assert (templates_dir() / name).is_file()


def test_missing_template_lists_folders(tmp_path):
    env = make_environment(tmp_path)
    with pytest.raises(TemplateError) as err:
        render_template(env, "nope.j2")
    assert str(tmp_path) in str(err.value) and str(templates_dir()) in str(err.value)


def test_missing_templates_folder(tmp_path):
    with pytest.raises(TemplateError, match="does not exist"):
        make_environment(tmp_path / "missing")


def test_autoescape_and_render_filters(tmp_path):
    (tmp_path / "t.j2").write_text("{{ x }}|{{ x|title_html }}|{{ y|inline_html }}", encoding="utf-8")
    out = render_template(make_environment(tmp_path), "t.j2", x="<b>&", y="**a** <i>")
    assert out == "&lt;b&gt;&amp;|&lt;b&gt;&amp;|<strong>a</strong> &lt;i&gt;"


def test_user_template_extends_default(tmp_path):
    week = write_week(tmp_path / "in", days=1)
    tpl = user_templates(tmp_path / "tpl")
    report = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "out", images="none",
                                                          templates=tpl))
    files = unzip(report.files[0][0])
    root = xml(files["EPUB/day-2024-03-04.xhtml"])
    mine = root.findall(".//x:p[@class='mine']", NS)
    assert len(mine) == 3 and root.find(".//x:ul[@class='summary']", NS) is None
    # the rest of the packaged template is still there
    assert root.find(".//x:ol[@class='day-list']", NS) is not None
    assert files["EPUB/style/epub.css"] == b"body { margin: 0; }\n"


def test_syntax_error_is_a_template_error(tmp_path):
    (tmp_path / "day.xhtml.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(TemplateError, match="day.xhtml.j2"):
        render_template(make_environment(tmp_path), "day.xhtml.j2")


def test_malformed_user_template_is_reported(tmp_path):
    week = write_week(tmp_path / "in", days=1)
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text("<section><p>unclosed</section>\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="day-2024-03-04.xhtml.*not well-formed"):
        build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "out", images="none",
                                                      templates=tpl))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("folder", ["tpl", "t\nx", "t\udcfe"])
def test_unknown_block_in_a_user_template_is_an_error(tmp_path, folder):
    from exporter.gates.names import shell_quote

    week = write_week(tmp_path / "in", days=1)
    tpl = tmp_path / folder  # a name that must be shown quoted, never raw (a line break forges a line)
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text(
        '{% extends "default:day.xhtml.j2" %}\n{% block paper_sumary %}x{% endblock %}\n'
        '{% block day_heading %}{% block mine %}{% endblock %}{% endblock %}\n', encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "out", images="none", templates=tpl))
    message = str(err.value)
    assert message.startswith(shell_quote(str(tpl / "day.xhtml.j2")) + ": ") and "\n" not in message, message
    assert "unknown block 'paper_sumary'" in message and "paper_summary" in message
    assert "'mine'" not in message  # a block inside an overriding block is the template's own
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.epub"))


def test_extra_css_comes_after_the_packaged_stylesheet(tmp_path):
    week = write_week(tmp_path / "in", days=1)
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "extra.css").write_text(".paper-title { color: #333; }\n", encoding="utf-8")
    report = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "out", images="none",
                                                          templates=tpl))
    css = unzip(report.files[0][0])["EPUB/style/epub.css"].decode("utf-8")
    packaged = (templates_dir() / "epub.css").read_text(encoding="utf-8")
    assert css.startswith(packaged.rstrip("\n")) and css.endswith(".paper-title { color: #333; }\n")
    from epub_fixtures import epubcheck_problems
    import shutil
    if shutil.which("java"):
        assert epubcheck_problems([report.files[0][0]], tmp_path) == {}
