"""The steering report as a PDF (fpdf2), laid out from the same figures as the HTML
(`report_data.present`): A4 landscape, one page per section, tables with repeated header rows. The
font is matplotlib's DejaVu Sans, embedded, so the text (umlauts included) can be read and
copied out of the file. fpdf2 and matplotlib are imported only here, when a PDF is made."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from handlers.core import Language
from handlers.report_data import Presented, ReportData, Table, present

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "DejaVu"
_MARGIN = 14.0  # mm
_BLUE = (31, 78, 121)
_HEADER_FILL = (232, 238, 245)
_HEADING_SIZE = 7.0  # pt, the tables' header rows
_PAD = 0.8  # mm between a cell's border and its text


def font_files() -> tuple[Path, Path]:
    """DejaVu Sans regular and bold, as matplotlib ships them."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"


def render_pdf(data: ReportData, lang: Language) -> bytes:
    from fpdf import FPDF

    shown = present(data, lang)
    regular, bold = font_files()

    class ReportPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, shown.title, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    # Landscape: the count tables have a column per status, the matrix one per department.
    pdf = ReportPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_font(FONT, "", str(regular))
    pdf.add_font(FONT, "B", str(bold))
    pdf.set_title(shown.title)
    pdf.set_lang(lang)
    pdf.set_creator("Regelkreis")
    _title_page(pdf, shown)
    for index, section in enumerate(shown.sections):
        if index:
            pdf.add_page()
        else:
            pdf.ln(6)
        _heading(pdf, section.heading)
        for part in section.parts:
            if part.subheading:
                if pdf.will_page_break(20):
                    pdf.add_page()
                pdf.ln(2)
                pdf.set_font(FONT, "B", 10.5)
                pdf.multi_cell(0, 5.5, part.subheading, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            pdf.set_font(FONT, "", 9.5)
            for line in part.lines:
                pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
            if part.table is not None:
                _table(pdf, part.table)
    return bytes(pdf.output())


def _title_page(pdf: FPDF, shown: Presented) -> None:
    pdf.add_page()
    pdf.set_font(FONT, "B", 20)
    pdf.multi_cell(0, 10, shown.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(60, 60, 60)
    for line in shown.lines:
        pdf.multi_cell(0, 5.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, "B", 14)
    pdf.set_text_color(*_BLUE)
    pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*_BLUE)
    pdf.set_line_width(0.5)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)


def _table(pdf: FPDF, table: Table) -> None:
    """A table drawn cell by cell: wrapped at spaces, header row repeated on each page.

    Drawn with `cell` and `rect` rather than fpdf2's `table()`, which lays out every cell with
    `multi_cell` twice: at 10k measures the report has some 5,000 cells, and `table()` took
    three quarters of the report's time (bench/report_bench.py)."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
    total = sum(table.widths)
    widths = [width * w / total for w in table.widths]
    # No header word is broken: a column too narrow for its header takes from the first
    # (the names, which wrap at spaces).
    pdf.set_font(FONT, "B", _HEADING_SIZE)
    for i, text in enumerate(table.header[1:], start=1):
        needed = max(pdf.get_string_width(word) for word in text.split() or [""]) + 2 * _PAD + 0.8
        if widths[i] < needed:
            widths[0] -= needed - widths[i]
            widths[i] = needed
    aligns = ["R" if i in table.numeric else "L" for i in range(len(table.header))]
    pdf.set_draw_color(184, 196, 208)
    pdf.set_line_width(0.2)
    size = 8 if len(table.header) > 8 else 8.5
    line_height = size * 0.5

    def draw(values: list[str], *, header: bool) -> None:
        if header:
            pdf.set_font(FONT, "B", _HEADING_SIZE)
        else:
            pdf.set_font(FONT, "", size)
        wrapped = [_wrap(pdf, value, w - 2 * _PAD) for value, w in zip(values, widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * line_height + 2 * _PAD
        if not header and pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            draw(table.header, header=True)
            pdf.set_font(FONT, "", size)
        x, y = pdf.l_margin, pdf.get_y()
        if header:
            pdf.set_fill_color(*_HEADER_FILL)
        for lines, w, align in zip(wrapped, widths, aligns, strict=True):
            pdf.rect(x, y, w, height, style="DF" if header else "D")
            for number, line in enumerate(lines):
                pdf.set_xy(x + _PAD, y + _PAD + number * line_height)
                pdf.cell(w - 2 * _PAD, line_height, line, align=align)
            x += w
        pdf.set_xy(pdf.l_margin, y + height)

    if pdf.will_page_break(3 * line_height + 4 * _PAD):
        pdf.add_page()
    draw(table.header, header=True)
    for row in table.rows:
        draw(row, header=False)
    if table.note:
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5, table.note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` in lines no wider than `width` at the current font: broken at spaces, a word
    wider than the column between characters."""
    if pdf.get_string_width(text) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if pdf.get_string_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while pdf.get_string_width(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and pdf.get_string_width(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    return lines
