"""The finishing step that repairs WeasyPrint's structure tree, on small documents: each
repair, read back the way a screen reader reads the PDF (structure tree and content)."""

from __future__ import annotations

import collections
import io

import pikepdf
import pytest

from booklet.pdf import write_pdf
from booklet.pdfread import Reader, audit
from booklet.tagging import tag
from conftest import ROOT

pytestmark = pytest.mark.render

PAGE = ('<!DOCTYPE html><html lang="en"><head><title>t</title><style>'
        '@page {{ size: 5in 4in; margin: 0.5in; @bottom-right {{ content: "Page " counter(page); }} }}'
        'body {{ font-size: 12pt; line-height: 1.3 }} {css}</style></head><body>{body}</body></html>')


def render(body: str, css: str = "", roots: tuple = ()) -> tuple[bytes, bytes]:
    raw = write_pdf(PAGE.format(body=body, css=css), extra_roots=roots)
    return raw, tag(raw)


def tree(pdf: bytes) -> list[tuple[int, str, str]]:
    r = Reader.open(pdf)
    return [(e.depth, e.type, r.text_of(e)) for e in r.elements()]


def types(pdf: bytes) -> collections.Counter:
    return collections.Counter(t for _, t, _ in tree(pdf))


LONG = " ".join(f"Sentence number {n} of a long paragraph." for n in range(60))


def test_running_footers_become_pagination_artifacts():
    raw, fixed = render(f"<section><h1>One</h1><p>{LONG}</p></section>")
    assert audit(raw).untagged > 0  # WeasyPrint leaves the footer outside the tree
    after = audit(fixed)
    assert after.untagged == 0 and after.unmarked == 0
    r = Reader.open(fixed)
    footers = [m for p in range(len(r.pdf.pages)) for m in r.content(p) if m.text.startswith("Page ")]
    assert footers and all(m.tag == "/Artifact" and m.properties.get("/Type") == "/Pagination"
                           and m.properties.get("/Subtype") == "/Footer" for m in footers)


def test_an_element_across_pages_is_one_element():
    raw, fixed = render(f"<section><h1>One</h1><p>{LONG}</p><ul>{'<li>item</li>' * 30}</ul></section>")
    assert Reader.open(fixed).pdf.pages.__len__() > 2
    assert types(raw)["Sect"] > 1 and types(raw)["P"] > 1
    counts = types(fixed)
    assert counts["Sect"] == 1 and counts["P"] == 1 and counts["L"] == 1 and counts["LI"] == 30
    (_, _, text), = [t for t in tree(fixed) if t[1] == "P"]
    assert text.startswith("Sentence number 0 ") and text.endswith("number 59 of a long paragraph.")


def test_list_columns_are_one_list():
    raw, fixed = render('<h1>Side effects</h1><ul class="two">' + "".join(f"<li>Effect {n}</li>" for n in range(8))
                        + "</ul>", css=".two { columns: 2 }")
    assert audit(raw).bad_list_nesting  # a list per column, inside the list
    assert not audit(fixed).bad_list_nesting
    lists = [t for t in tree(fixed) if t[1] == "L"]
    assert len(lists) == 1 and types(fixed)["LI"] == 8


def test_a_nested_list_sits_in_its_item():
    _, fixed = render("<h1>List</h1><ul><li>Outer<ul><li>Inner one</li><li>Inner two</li></ul></li><li>Next</li></ul>")
    assert not audit(fixed).bad_list_nesting
    r = Reader.open(fixed)
    inner = [e for e in r.elements() if e.type == "L" and e.parent.type == "LBody"]
    assert len(inner) == 1 and r.text_of(inner[0]).count("Inner") == 2


def test_table_header_repeated_on_the_next_page_is_an_artifact_and_cells_know_their_headers():
    rows = "".join(f'<tr><th scope="row">Row {n}</th><td>Value {n}</td></tr>' for n in range(25))
    raw, fixed = render('<h1>Table</h1><table><thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr>'
                        f'</thead><tbody><tr><th scope="rowgroup" colspan="2">Group</th></tr>{rows}</tbody></table>')
    assert audit(raw).th_without_scope > 0
    counts = types(fixed)
    assert counts["Table"] == 1 and counts["THead"] == 1 and counts["TBody"] == 1 and counts["TR"] == 27
    assert audit(fixed).th_without_scope == 0
    with pikepdf.open(io.BytesIO(fixed)) as doc:
        ids = _id_tree(doc.Root.StructTreeRoot.IDTree)
        r = Reader(doc)
        cells = {r.text_of(e): e for e in r.elements() if e.type in ("TD", "TH")}
        headers = [str(h) for h in cells["Value 24"].get("/A").Headers]
        assert {r.text_of(_elem(r, ids[h])) for h in headers} == {"Value", "Row 24", "Group"}
        assert str(cells["Row 3"].get("/A").Scope) == "/Row" and str(cells["Name"].get("/A").Scope) == "/Column"


def _id_tree(node: pikepdf.Dictionary) -> dict[str, pikepdf.Dictionary]:
    names = list(node.Names)
    return {str(names[i]): names[i + 1] for i in range(0, len(names), 2)}


def _elem(reader: Reader, obj: pikepdf.Dictionary):
    return next(e for e in reader.elements() if e.obj.objgen == obj.objgen)


def test_one_link_per_link_described_in_words():
    body = ('<h1>Contents</h1><p><a href="#two"><span>Chapter two</span> <span class="n"></span></a></p>'
            '<h1 id="two" style="break-before: page">Two</h1><p>Text.</p>')
    raw, fixed = render(body, css=".n::after { content: target-counter(attr(href), page) }"
                        " a .n::after { content: '2' }")
    before = audit(raw)
    assert before.link_annotations > 1 or before.links_without_words
    after = audit(fixed)
    assert (after.links, after.link_annotations, after.nested_links) == (1, 1, 0)
    assert not after.links_without_words
    with pikepdf.open(io.BytesIO(fixed)) as doc:
        (link,) = [a for p in doc.pages for a in p.get("/Annots", []) if a.get("/Subtype") == "/Link"]
        assert str(link.Contents) == "Chapter two, page 2"


def test_decorative_image_is_an_artifact_and_described_image_a_figure():
    clinic = ROOT / "examples" / "clinic"
    src = (clinic / "logo.png").as_uri()
    _, fixed = render(f'<h1>Logos</h1><img src="{src}" alt=""><img src="{src}" alt="A heron over a river">',
                      roots=(clinic,))
    r = Reader.open(fixed)
    figures = [e for e in r.elements() if e.type == "Figure"]
    assert [str(f.get("/Alt")) for f in figures] == ["A heron over a river"]
    images = [m for p in range(len(r.pdf.pages)) for m in r.content(p) if m.painted and not m.text]
    assert sum(m.tag == "/Artifact" for m in images) >= 1 and audit(fixed).untagged == 0


def test_tick_box_is_a_named_check_box_in_the_item_label():
    items = "".join(f'<li><input type="checkbox" id="q{n}" name="q{n}"><label for="q{n}">Question {n} '
                    f'that is long enough to wrap onto a second line of this narrow page?</label></li>'
                    for n in range(3))
    _, fixed = render(f'<h1>Questions</h1><form><ul style="list-style: none">{items}</ul></form>')
    r = Reader.open(fixed)
    items = [e for e in r.elements() if e.type == "LI"]
    assert len(items) == 3
    for n, item in enumerate(items):
        label, body = list(item.elems())
        assert (label.type, body.type) == ("Lbl", "LBody")
        (form,) = list(label.elems())
        (annot,) = [k[1] for k in form.kids if k[0] == "objr"]
        assert form.type == "Form" and annot.FT == "/Btn"
        assert str(annot.TU) == r.text_of(body) == (f"Question {n} that is long enough to wrap onto a "
                                                    "second line of this narrow page?")


def test_sections_start_with_their_heading_and_groups_dissolve():
    _, fixed = render('<nav><h1>Contents</h1><p>List</p></nav><section><div class="keep"><h1>Title</h1>'
                      '<p>Intro</p></div><p>Body</p><div><h2>Boxed</h2><p>Box text</p></div></section>')
    t = tree(fixed)
    assert [ty for _, ty, _ in t if ty in ("Sect", "Div", "NonStruct")] == ["Sect", "Sect", "Sect"]
    assert not audit(fixed).sections_without_heading


def test_viewer_opens_the_bookmarks_and_repair_is_idempotent():
    _, fixed = render("<h1>One</h1><p>Text</p><h1>Two</h1><p>More</p>")
    with pikepdf.open(io.BytesIO(fixed)) as doc:
        assert doc.Root.PageMode == "/UseOutlines"
    assert tree(tag(fixed)) == tree(fixed)  # a second pass finds nothing left to repair
