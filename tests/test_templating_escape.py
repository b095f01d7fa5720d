"""What the templates output is escaped as markupsafe escapes it (the packaged templates' quick
path for values that are markup already)."""

import markupsafe
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter import templating
from exporter.templating import get_template, make_environment


def test_the_templates_escape_with_the_quick_path():
    for env in (make_environment(None),):
        for name in ("day.xhtml.j2", "cover.xhtml.j2"):
            assert get_template(env, name).root_render_func.__globals__["escape"] is templating._escape


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text().map(markupsafe.Markup), st.integers(), st.none(),
                 st.text().map(lambda t: type("Html", (), {"__html__": lambda self: t})())))
def test_quick_escape_is_markupsafe_escape(value):
    quick, reference = templating._escape(value), markupsafe.escape(value)
    assert type(quick) is markupsafe.Markup and quick == reference


def test_a_template_escapes_text_and_keeps_markup():
    env = make_environment(None)
    template = env.from_string("{{ a }}|{{ b }}|{{ c }}")
    assert template.render(a="<b>&", b=markupsafe.Markup("<i>x</i>"), c=3) == "&lt;b&gt;&amp;|<i>x</i>|3"
