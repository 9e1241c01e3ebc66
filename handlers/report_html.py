"""The steering report as HTML: handlers/templates/report.html.j2 (Jinja2, autoescaped), with
print CSS for A4 landscape (one page per section). Jinja2 is imported only here, when a report is
made."""

from __future__ import annotations

from handlers.core import Language
from handlers.report_data import ReportData, present

# "./": the name alone reads like a catalogue key of `[report]` to tests/test_catalogue.py.
TEMPLATE = "./report.html.j2"


def render_html(data: ReportData, lang: Language) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("handlers", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(TEMPLATE).render(report=present(data, lang))
