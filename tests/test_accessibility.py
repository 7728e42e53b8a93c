"""Booklets read the way assistive technology reads them: the structure tree and the
content streams (booklet.pdfread), in every mode. Renders are the session-cached ones;
sweeps over every example live in scripts/sweep.py."""

from __future__ import annotations

import io
import re
import subprocess

import pikepdf
import pytest

from booklet.finish import saddle_order
from booklet.pdfread import Reader, audit, reading_order
from conftest import ROOT, example_data, render_profile

pytestmark = pytest.mark.render

REFERENCE = "stage-iv-hr-pos-her2-pos"
FULL = "stage-iv-hr-pos-her2-pos-full"
SMALL = "stage-0-dcis"


def clinic():
    from booklet.clinic import load

    return load(ROOT / "examples" / "clinic" / "clinic.yaml")


# (mode, example, options, smallest body text, smallest other text) in points
MODES = {
    "default": (REFERENCE, {}, 13, 12),
    "large print": (FULL, {"large_print": True, "paper": "a4"}, 18, 16),  # shared with test_render
    "A4": (SMALL, {"paper": "a4"}, 13, 12),
    "clinic": (SMALL, {"clinic": "example"}, 13, 12),
    "booklet": (SMALL, {"imposition": "booklet"}, 13, 12),
}


def booklet(mode: str):
    name, options, _, _ = MODES[mode]
    options = {**options, "clinic": clinic()} if "clinic" in options else options
    return render_profile(example_data(name), **options)


@pytest.fixture(scope="module")
def reference():
    return booklet("default")


@pytest.fixture(scope="module")
def reader(reference):
    return Reader.open(reference.pdf)


@pytest.mark.parametrize("mode", MODES)
def test_a_screen_reader_meets_every_piece_of_content_once(mode):
    found = audit(booklet(mode).pdf)
    assert found.untagged == 0, "marked content outside the tree and not an artifact"
    assert found.unmarked == 0
    assert found.nested_links == 0 and found.link_annotations == found.links
    assert found.links_without_words == []
    assert found.th_without_scope == 0
    assert found.sections_without_heading == []
    assert found.bad_list_nesting == []
    assert found.page_mode == "/UseOutlines" and found.lang == "en" and found.title


@pytest.mark.parametrize("mode", MODES)
def test_text_sizes(mode):
    _, _, body, other = MODES[mode]
    found = audit(booklet(mode).pdf)
    assert found.min_body >= body, sorted(found.body_sizes.items())[:3]
    assert found.min_other >= other, sorted(found.other_sizes.items())[:3]
    assert found.other_sizes, "the page footers are there, as artifacts"


@pytest.mark.parametrize("mode", MODES)
def test_valid_pdf_ua1_in_every_mode(mode):
    import page

    report = page.validate_pdf_bytes(booklet(mode).pdf, profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures][:5]


def test_page_footers_are_pagination_artifacts(reader):
    n = len(reader.pdf.pages)
    footer = [m for m in reader.content(4) if m.text.startswith(("Page ", "Content reviewed"))]
    assert {m.text for m in footer} == {f"Page 5 of {n}", "Content reviewed: December 2026"}
    assert all(m.tag == "/Artifact" and m.properties["/Type"] == "/Pagination"
               and m.properties["/Subtype"] == "/Footer" for m in footer)


def test_contents_page_one_link_per_entry_described_in_words(reference, reader):
    entries = len(re.findall(r"<li[ >]", reference.html[reference.html.index('class="toc"'):].split("</ol>")[0]))
    found = audit(reference.pdf)
    assert found.contents_pieces == 2 * entries + 1  # heading, then a title and a number each
    links = [e for e in reader.elements() if e.type == "Link"
             and e.parent.parent.parent.parent.type == "Sect"
             and reader.text_of(next(e.parent.parent.parent.parent.elems())) == "Contents"]
    assert len(links) == entries
    headings = {}
    for e in reader.elements():
        if re.match(r"H\d", e.type):
            headings.setdefault(reader.text_of(e), next(e.marked())[0] + 1)
    for link in links:
        (annot,) = [k[1] for k in link.kids if k[0] == "objr"]
        title = reader.text_of(link).rsplit(" ", 1)[0]
        assert str(annot.Contents) == f"{title}, page {headings[title]}"
    assert "Step 1: Getting to a cancer program, page" in " ".join(
        str(k[1].Contents) for link in links for k in link.kids if k[0] == "objr")
    assert "...." not in reader.text_of(links[0].parent)


def body_children(html: str) -> list[str]:
    """The tags of the elements directly inside <body>."""
    from html.parser import HTMLParser

    void = {"br", "img", "input", "meta", "link", "hr", "wbr"}

    class Top(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth, self.found = 0, []

        def handle_starttag(self, tag, attrs):
            if tag in void:
                return
            if self.depth == 2:  # <html> <body>
                self.found.append(tag)
            self.depth += 1

        def handle_endtag(self, tag):
            if tag not in void:
                self.depth -= 1

    parser = Top()
    parser.feed(html[html.index("<body"):].replace("<body", "<html><body", 1))
    return parser.found


def test_one_section_per_chapter_and_one_article_per_medicine(reference, reader):
    chapters = len(body_children(reference.html))
    document = next(reader.elements())
    top = list(document.elems())
    assert len(top) == chapters and {e.type for e in top} == {"Sect"}
    arts = [e for e in reader.elements() if e.type == "Art"]
    assert len(arts) == reference.html.count("<article ") > 3
    for art in arts:
        heading = next(art.elems())
        assert re.match(r"H\d", heading.type)
        assert reader.text_of(art).startswith(reader.text_of(heading))


def test_table_headers_have_scope_and_group_rows_head_their_rows(reader):
    ids = {}
    tree = reader.pdf.Root.StructTreeRoot.IDTree
    names = list(tree.Names)
    for i in range(0, len(names), 2):
        ids[str(names[i])] = names[i + 1].objgen
    by_obj = {e.obj.objgen: e for e in reader.elements()}
    cells = [e for e in reader.elements() if e.type == "TD" and reader.text_of(e).startswith(
        "First treatment") and e.parent.parent.parent.type == "Table"]
    assert cells
    headers = {reader.text_of(by_obj[ids[str(h)]]) for h in cells[0].get("/A").Headers}
    assert headers == {"When it may be offered", "Pertuzumab", "HER2 antibodies"}


def test_tick_boxes_are_named_check_boxes(reference, reader):
    boxes = reference.html.count('type="checkbox"')
    assert boxes > 10
    fields = []
    for e in reader.elements():
        if e.type == "Form":
            label, item = e.parent, e.parent.parent
            assert (label.type, item.type) == ("Lbl", "LI")
            body = list(item.elems())[1]
            (widget,) = [k[1] for k in e.kids if k[0] == "objr"]
            assert widget.FT == "/Btn" and str(widget.TU) == reader.text_of(body)
            fields.append(str(widget.T))
    assert len(fields) == len(set(fields)) == boxes
    intro = "Tick each question once you have asked it."
    assert reference.raw_text().count(intro) == reference.html.count(intro)


def test_get_help_right_away_is_a_heading(reader):
    headings = [reader.text_of(e) for e in reader.elements() if re.match(r"H\d", e.type)]
    assert "Get help right away" in headings
    assert "Call your team right away if" in headings


def sample_pages(reader) -> dict[str, int]:
    """A drug page with a two-column list, a table page and a call-out page."""
    pages = {}
    for e in reader.elements():
        if e.type == "L" and "two" not in pages:
            items = [reader.marked_of(i) for i in e.elems()]
            xs = {round(ms[0].x) for ms in items if ms and ms[0].x is not None}
            heading = [reader.text_of(k) for k in e.parent.elems()]
            if len(xs) > 1 and "Common side effects" in heading:
                pages["two"] = next(e.marked())[0]
        elif e.type == "TH" and "table" not in pages:
            pages["table"] = next(e.marked())[0]
        elif re.match(r"H\d", e.type) and reader.text_of(e) == "Call your team right away if" \
                and "call-out" not in pages:
            pages["call-out"] = next(e.marked())[0]
    return pages


def test_reading_order_follows_the_page(reader):
    pages = sample_pages(reader)
    assert set(pages) == {"two", "table", "call-out"}
    for kind, page in pages.items():
        seq, problems = reading_order(reader, page)
        assert len(seq) > 10 and problems == [], (kind, page + 1, problems)


def test_write_in_columns_leave_room_to_write(reader):
    """Column starts of the write-in tables, from where their header text begins."""
    for table in (e for e in reader.elements() if e.type == "Table"):
        heads = [reader.marked_of(th)[0] for th in table.walk() if th.type == "TH" and th.parent.parent.type == "THead"]
        text = reader.text_of(table)
        if not text.startswith(("Role", "Medicine How much", "Date and time")):
            continue
        xs = [m.x for m in heads]
        widths = [b - a for a, b in zip(xs, xs[1:])]
        assert min(widths) >= 90, (text[:30], widths)


def test_clinic_logo_is_decoration_beside_the_clinic_name():
    pdf = booklet("clinic").pdf
    r = Reader.open(pdf)
    cover = next(next(r.elements()).elems())
    assert not [e for e in cover.walk() if e.type == "Figure"]
    assert r.text_of(cover).count("Riverside Regional Cancer Centre") == 1
    assert not [e for e in r.elements() if "Riverside" in str(e.get("/Alt", ""))]
    drawn = [m for m in r.content(0) if m.painted and not m.text]
    assert any(m.tag == "/Artifact" for m in drawn)


def test_imposed_print_file_keeps_language_title_metadata_and_reads_in_order():
    rendered = booklet("booklet")
    with pikepdf.open(io.BytesIO(rendered.print_pdf)) as sheets:
        assert str(sheets.Root.Lang) == "en"
        assert str(sheets.docinfo.Title) == "My treatment plan"
        xmp = sheets.Root.Metadata.read_bytes()
        assert b"My treatment plan" in xmp and b"pdfuaid" not in xmp  # no PDF/UA claim
        titles = {}
        stack = list(sheets.open_outline().root)
        while stack:
            item = stack.pop()
            stack.extend(item.children)
            titles[item.title] = item.destination
        # a bookmark leads to the sheet side that holds its page (the contents page)
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(rendered.pdf))
        index = next(n for n, page in enumerate(reader.pages)
                     if "Contents" in page.extract_text())  # the cover page holds them
        side = next(i for i, pair in enumerate(saddle_order(rendered.print_pages)) if index in pair)
        assert titles["Contents"][0].objgen == sheets.pages[side].obj.objgen
        assert "/StructTreeRoot" not in sheets.Root
    first = subprocess.run(["pdftotext", "-raw", "-f", "1", "-l", "1", "-", "-"], input=rendered.print_pdf,
                           capture_output=True, check=True).stdout.decode()
    assert first.lstrip().startswith("My treatment plan")  # the cover, then the back page
    # the accessible PDF holds the same pages, one to a page
    with pikepdf.open(io.BytesIO(rendered.pdf)) as pages:
        assert "/StructTreeRoot" in pages.Root and float(pages.pages[0].mediabox[2]) == 396


def test_cli_writes_the_accessible_pdf_beside_the_print_file(tmp_path):
    from typer.testing import CliRunner

    from booklet.cli import app

    runner = CliRunner()
    help_text = " ".join(runner.invoke(app, ["render", "--help"]).output.split())
    assert "for printing only" in help_text and "NAME-print.pdf" in help_text
    out = tmp_path / "sam.pdf"
    result = runner.invoke(app, ["render", "--example", SMALL, "-o", str(out), "--imposition", "booklet",
                                 "--date", "2026-11-26"])
    assert result.exit_code == 0, result.output
    printed = tmp_path / "sam-print.pdf"
    assert out.exists() and printed.exists()
    assert "screen reader" in result.output and "for printing only" in result.output
    assert audit(out.read_bytes()).untagged == 0
    with pikepdf.open(printed) as sheets:
        assert float(sheets.pages[0].mediabox[2]) == 792  # two half pages to a sheet
