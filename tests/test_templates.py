"""Pages from templates: the one sandboxed environment, every template rendered, hostile text inert everywhere.

nbgeo's own pages (audit.html and its section tables, compare.html, the
progress cards and charts, the indicator table, the Jupyter table) are Jinja2
templates rendered by :mod:`nbgeo.renderers.render`, whose default escaping is
:func:`nbgeo.html.safe_text`. Checked here: every template renders (with
StrictUndefined) for the sample audit, the mid-term audit and a comparison;
hostile text in plan titles, target ids, phrases, layer names, feature ids and
property values comes out inert and literal in every page; the sandbox refuses
what a template must never do; and the converted modules no longer build HTML
from strings.
"""

from __future__ import annotations

import ast
import configparser
import dataclasses
import html
import os
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import jinja2
import pytest
from jinja2.exceptions import SecurityError, TemplateAssertionError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from shapely import Point

import nbgeo
from nbgeo import audit, charts, compare, maps, progress, report
from nbgeo.html import safe_text
from nbgeo.layers import Dataset, Layer, LayerMeta
from nbgeo.plan import Plan, Target
from nbgeo.renderers import assets, render

ROOT = Path(nbgeo.__file__).parent

#: Hostile text: Jinja expressions and statements, the SSTI gadget, script and tag breakouts, a JS template
#: literal, backticks and a NUL. The markers around the expressions show up if Jinja ever evaluates them.
PAYLOADS = [
    "Q{{7*7}}Q",
    "{% if %}",
    "P{{ cycler.__init__.__globals__.os.getpid() }}",
    "</script><script>globalThis.PWNED=1</script>",
    "${globalThis.PWNED=1}",
    "<img src=x onerror=alert(1)>",
    "`;globalThis.PWNED=2;`",
    "nul\x00byte",
]
EVALUATED = ("Q49Q", f"P{os.getpid()}")


def tagged(payload: str, slot: str) -> str:
    return f"{payload} #{slot}"


def _hostile_dataset(*, keep_hostile_features: bool = True) -> Dataset:
    layers = {}
    for i, p in enumerate(PAYLOADS):
        ids = [tagged(p, "id"), f"plain{i}"] if keep_hostile_features else [f"plain{i}"]
        gdf = gpd.GeoDataFrame({"name": [tagged(p, "value")] * len(ids)},
                               geometry=[Point(121.5 + 0.01 * i, 29.8 + 0.01 * k) for k in range(len(ids))],
                               index=ids, crs=4326)
        layers[tagged(p, "layer")] = Layer(gdf, LayerMeta(name=tagged(p, "layer"), source="s", licence="l",
                                                          illustrative=True))
    return Dataset(name="hostile", layers=layers)


def _hostile_audit(dataset: Dataset, status: str = "fail") -> audit.AuditReport:
    title = " ".join(tagged(p, "title") for p in PAYLOADS)
    targets = tuple(Target(id=tagged(p, "target"), layer=tagged(p, "layer"), metric="count", threshold=2,
                           phrase=tagged(p, "phrase"), title=tagged(p, "phrase"), unit="个")
                    for p in PAYLOADS)
    plan = Plan(id="hostile", title=title, title_en=title, baseline=2020, horizon=2025, targets=targets)
    base = audit.run_audit(dataset, plan, progress=True)
    rules = [{"id": f"r{i}", "status": status, "layer": tagged(p, "layer"), "feature": tagged(p, "id"),
              "title": tagged(p, "value"),
              "findings": [{"feature": tagged(p, "id"), "status": status, "note": tagged(p, "value")}]}
             for i, p in enumerate(PAYLOADS)]
    return dataclasses.replace(base, sections={**base.sections, "rules": rules})


@pytest.fixture(scope="module")
def pages():
    """Every page nbgeo renders itself, from hostile input, with the slots each one shows."""
    a = _hostile_audit(_hostile_dataset())
    b = _hostile_audit(_hostile_dataset(keep_hostile_features=False), status="pass")
    labels = (" ".join(tagged(p, "title") for p in PAYLOADS), "B")
    comparison = compare.compare_reports(a, b, labels=labels)
    compare_map = maps.embed_html(compare.compare_map(comparison), element_id="nbgeo-compare-map")
    indicators = [{"id": tagged(p, "target"), "title": tagged(p, "value"), "phrase": tagged(p, "phrase"),
                   "year": 2025, "op": ">=", "threshold": 1, "actual": 2, "unit": "%", "status": "met", "margin": 1,
                   "note": tagged(p, "value"), "source": tagged(p, "value"), "illustrative": True} for p in PAYLOADS]
    every = ("title", "target", "phrase", "layer", "id", "value")
    return {
        "audit_en": (report.to_html(a, lang="en"), every),
        "audit_zh": (report.to_html(a, lang="zh"), every),
        "compare": (compare.to_html(comparison, map_html=compare_map, head_extra=assets.head_html()),
                    ("title", "target", "phrase", "layer", "id", "value")),
        "progress": (charts.progress_html(a.sections["progress"], lang="en"), ("target", "phrase")),
        "indicators": (charts.indicator_table_html(indicators), ("target", "phrase", "value")),
        "jupyter": (a._repr_html_(), ("title", "target", "phrase")),
    }


PAGES = ["audit_en", "audit_zh", "compare", "progress", "indicators", "jupyter"]


# ---- (1) every template renders, with StrictUndefined --------------------------------------------------


def test_environment_is_the_sandboxed_autoescaping_strict_one():
    env = render.ENV
    assert isinstance(env, SandboxedEnvironment)
    assert env.autoescape is True and env.undefined is jinja2.StrictUndefined and env.finalize is render.text
    assert env.globals == {} and "safe" not in env.filters and "format" not in env.filters
    assert render.TEMPLATES == ROOT / "renderers" / "templates"


def test_every_template_renders_for_the_sample_the_midterm_audit_and_compare(sample, ningbo_plan, monkeypatch):
    used: set[str] = set()
    get_template = render.ENV.get_template

    def recording(name, *args, **kwargs):
        used.add(str(name))
        return get_template(name, *args, **kwargs)

    monkeypatch.setattr(render.ENV, "get_template", recording)
    from nbgeo import datasets, plan

    r25 = audit.run_audit(sample, ningbo_plan, progress=True)
    r23 = audit.run_audit(sample, ningbo_plan, year=2023, progress=True)
    for r in (r25, r23):
        for lang in ("zh", "en"):
            page = report.to_html(r, lang=lang, with_map=lang == "zh")
            assert page.startswith("<!DOCTYPE html>") and page.endswith("</footer></body></html>")
            assert page.count("<tr id='target-") == len({t.id for t in r.targets})
        assert r._repr_html_().count("<tr>") == len(r.targets) + 1
        assert charts.progress_html(r.sections["progress"]).count("<figure") == len(r.sections["progress"])
        assert charts.indicator_table_html(r.sections["indicators"]).count("<tr>") == len(r.sections["indicators"]) + 1
    assert "stroke-dasharray='1 3'" in charts.progress_chart(r23.sections["progress"][0])  # the as-of line
    assert report.progress_bar(0.25, width=80).count("<rect") == 2
    c = compare.compare(sample, sample, ningbo_plan, plan.read_plan(datasets.get_path("ningbo_2035")), year=2025)
    page = compare.to_html(c, map_html=maps.embed_html(compare.compare_map(c)), head_extra=assets.head_html())
    assert page.count("<section>") == 4 + len(c.sections) and 'nbgeo.mount("' in page  # summary, targets, sites, map
    shipped = {p.name for p in render.TEMPLATES.glob("*.j2")}
    assert used == shipped  # no template left untried, none outside the package folder


def test_a_missing_variable_is_an_error_not_an_empty_string():
    with pytest.raises(UndefinedError):
        render.render("bar.svg.j2")
    with pytest.raises(UndefinedError, match="label"):
        render.render("bar.svg.j2", bar={"width": 10, "height": 2, "rx": "1", "fill": "5.0", "colour": "#000"})


def test_templates_ship_with_the_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT.parent / "setup.cfg")
    patterns = cfg["options.package_data"]["nbgeo.renderers"].split()
    files = sorted(render.TEMPLATES.glob("*")) + sorted((ROOT / "renderers" / "static").glob("*"))
    assert files and all(any(f.relative_to(ROOT / "renderers").match(p) for p in patterns) for f in files)


# ---- (2) hostile text is inert and literal in every page -----------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, int] = {}
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.handlers += [k for k, _ in attrs if k.startswith("on")]


@pytest.mark.parametrize("kind", PAGES)
def test_hostile_text_is_never_evaluated(pages, kind):
    page, _ = pages[kind]
    for marker in EVALUATED:
        assert marker not in page, marker


@pytest.mark.parametrize("kind", PAGES)
def test_hostile_text_never_reaches_a_page_as_markup(pages, kind):
    page, _ = pages[kind]
    for p in PAYLOADS:
        if set(p) & set("<>{}$`"):
            assert p not in page, p
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.handlers == [] and "img" not in parsed.tags and "iframe" not in parsed.tags
    assert parsed.tags.get("script", 0) == (3 if kind in ("audit_en", "audit_zh", "compare") else 0)


@pytest.mark.parametrize("kind", PAGES)
def test_hostile_text_reads_the_same_in_every_slot(pages, kind):
    page, slots = pages[kind]
    missing = [(slot, p) for p in PAYLOADS for slot in slots if safe_text(tagged(p, slot)) not in page]
    assert missing == []
    # NUL is no character an HTML page may hold (issue 13): shown as U+FFFD, the rest of the text as written
    assert html.unescape(safe_text(tagged(PAYLOADS[-1], "id"))) == tagged(PAYLOADS[-1], "id").replace("\x00", "\ufffd")


def test_charts_escape_like_the_pages():
    # a chart's text (its title, the tooltips, the flag) goes through the same escaping as every page
    t = Target(id=PAYLOADS[0], layer="x", metric="count", threshold=5, unit=PAYLOADS[4])
    entry = progress.assess(t, {2020: 1, 2021: 3}, baseline=2020, deadline=2025, as_of=2021).to_dict()
    # a note with a key is worded from its key and values (the unit above is one of them); a note without
    # one is free text, shown as it is: both reach the tooltip, in either language
    for lang in ("en", "zh"):
        svg = charts.progress_chart({**entry, "note": PAYLOADS[3], "note_key": ""}, lang=lang)
        assert safe_text(PAYLOADS[0]) in svg and safe_text(PAYLOADS[4]) in svg and safe_text(PAYLOADS[3]) in svg
        assert not any(p in svg for p in PAYLOADS[:7]) and "Q49Q" not in svg


# ---- (3) the sandbox ------------------------------------------------------------------------------------


def _run(source: str, **context) -> str:
    # Only tests compile templates from strings: nbgeo renders files of nbgeo/templates.
    return render.ENV.from_string(source).render(**context)


@pytest.mark.parametrize(("source", "context"), [
    ("{{ f.__globals__ }}", {"f": tagged}),
    ("{{ f.__code__ }}", {"f": tagged}),
    ("{{ c.__init__.__globals__.os.getpid() }}", {"c": jinja2.utils.Cycler(1, 2)}),
    ("{{ s.__class__.__mro__ }}", {"s": "x"}),
    ("{{ s.__class__.__subclasses__() }}", {"s": "x"}),
    ("{{ s.upper() }}", {"s": "x"}),  # no method of the data is called
    ("{{ d.items() }}", {"d": {"a": 1}}),
    ("{{ l.append(1) }}", {"l": [1]}),
    ("{{ l.pop() }}", {"l": [1]}),
    ("{{ f('x', 'y') }}", {"f": tagged}),  # nor a function handed in
    ("{{ m + s }}", {"m": render.trusted("<b>"), "s": "{{7*7}}"}),
    ("{{ m % s }}", {"m": render.trusted("<b>%s</b>"), "s": "${x}"}),
    ("{{ s * m }}", {"m": render.trusted("<b>"), "s": 2}),
    ("{% for x in l %}{{ loop.cycle('a', 'b') }}{% endfor %}", {"l": [1]}),
])
def test_sandbox_refuses_internals_calls_and_markup_arithmetic(source, context):
    with pytest.raises(SecurityError):
        _run(source, **context)


@pytest.mark.parametrize("name", ["cycler", "joiner", "namespace", "lipsum", "range", "dict"])
def test_the_ssti_gadget_finds_nothing_to_start_from(name):
    with pytest.raises(UndefinedError):
        _run(f"{{{{ {name} }}}}")  # no globals to start a gadget chain from
    with pytest.raises((UndefinedError, SecurityError)):
        _run(f"{{{{ {name}.__init__.__globals__.os.getpid() }}}}")


@pytest.mark.parametrize("source", ["{{ s|safe }}", "{{ s|format(1) }}", "{{ s|replace('a', 'b') }}",
                                    "{{ s|tojson }}", "{{ s|e }}", "{{ s|urlize }}", "{{ s|xmlattr }}"])
def test_filters_that_could_mark_text_safe_do_not_exist(source):
    with pytest.raises(TemplateAssertionError):
        render.ENV.from_string(source)


def test_tilde_is_refused_when_a_template_is_compiled():
    with pytest.raises(TemplateSyntaxError, match="'~'"):
        render.ENV.from_string("{{ m ~ s }}")


def test_what_templates_may_do_still_escapes_with_safe_text():
    hostile = "${x} {{7*7}} <b> `"
    out = _run("{% for x in l %}{{ loop.index }}:{{ x }};{% endfor %}|{{ l|join(sep) }}|{{ m }}|{{ d.k }}{{ d['k'] }}",
               l=[hostile, render.trusted("<i>ok</i>")], sep="<&>", m=render.trusted("<b>ok</b>"), d={"k": hostile})
    e = safe_text(hostile)
    assert out == (f"1:{e};2:<i>ok</i>;|{e}&lt;&amp;&gt;<i>ok</i>|<b>ok</b>|{e}{e}")
    assert "{{" not in out and "$" not in out.replace("&#36;", "")


def test_only_trusted_markup_passes_unescaped():
    assert render.text("<b>") == "&lt;b&gt;" and render.text(render.trusted("<b>")) == "<b>"
    assert render.text(None) == "" and render.text(float("nan")) == "" and render.text(3) == "3"
    # markupsafe's own escaping leaves { } $ ` \ alone; nbgeo's default does not
    import markupsafe

    assert str(markupsafe.escape("${x}")) == "${x}" and render.text("${x}") == "&#36;&#123;x&#125;"


# ---- (4) the converted modules build no HTML from strings -------------------------------------------------

CONVERTED = ("renderers/report.py", "renderers/compare.py", "renderers/charts.py", "audit.py")
MARKUP = ("<table", "<section", "<tr", "<td", "<th", "<div", "<span", "<svg", "<rect", "<figure", "<html", "<p ",
          "<p>", "<h2")


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module except docstrings (which hold the doctests)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("module", CONVERTED)
def test_no_html_is_assembled_in_python(module):
    found = [(line, text) for line, text in _code_strings(ROOT / module) if any(tag in text for tag in MARKUP)]
    assert found == []
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    escapes = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
               and getattr(n.func, "id", getattr(n.func, "attr", None)) == "safe_text"]
    assert escapes == []  # escaping is the templates' default now, not a call by every text


@pytest.mark.parametrize("module", (*CONVERTED, "renderers/render.py"))
def test_no_template_is_built_from_a_string(module):
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = {getattr(f, "attr", getattr(f, "id", None)) for f in calls}
    assert not names & {"from_string", "Template", "Environment", "compile_expression"}


def test_the_scan_sees_html_where_there_is_some(tmp_path):
    # the scan above is not vacuous: the same check finds the markup of an f-string page
    module = tmp_path / "page.py"
    module.write_text('"""Doc <table>."""\n\ndef f(x):\n    """<svg> in a doctest."""\n'
                      '    return f"<section><table><tr><td>{x}</td></tr></table></section>"\n')
    assert [text for _, text in _code_strings(module)] == ["<section><table><tr><td>", "</td></tr></table></section>"]
