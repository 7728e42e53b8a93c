"""Finishing step: repair the structure tree WeasyPrint writes, so that a screen reader meets
the booklet the way its HTML describes it, whatever sections the HTML has.

WeasyPrint 70 writes a PDF that passes the PDF/UA-1 checks, but:

- page margin boxes (running footers) are tagged, yet linked to no structure element and
  not marked as artifacts (Kozea/WeasyPrint#1836): they become pagination artifacts;
- the tree is built page by page: an element that crosses a page break becomes one
  structure element per page, and the columns of a multi-column list become lists inside
  the list (#2902, #2903): pieces with the same HTML origin (labelled at render time by
  booklet.pdf) are joined again, and a repeated table header becomes an artifact;
- every box inside a link gets a link annotation and a Link element of its own, and the
  annotation's description is the link target's id (#2482, "nested tags in anchors"):
  each link becomes one Link element with one annotation, described in words;
- table headers get no Scope (#2508), row-group headers are in no cell's Headers, and
  the Headers point at IDs no IDTree resolves: Scope, IDs, Headers and the IDTree are
  computed from the joined table;
- every line is a Span, every <div>, <nav>, <strong> or <label> a Div or NonStruct: these
  wrappers are dissolved into their parent (a group that starts with a heading becomes a
  Sect), a definition list pairs each term (Lbl) with its definition (LBody), a form field
  at the start of a list item becomes the item's label, and an image with empty alt text
  becomes an artifact;
- the viewer opens without the bookmarks panel: PageMode is set to UseOutlines.

Marked content that the repaired tree no longer reaches is turned into an artifact in the
page's content stream, MCIDs are renumbered and the ParentTree is rebuilt.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pikepdf

from booklet.pdfread import Marked, join, scan

LABEL = "/BookletOrigin"  # written by booklet.pdf at render time
GROUPS = {"Div", "NonStruct"}
HEADINGS = {"H", "H1", "H2", "H3", "H4", "H5", "H6"}
KEEP_ATTRS = ("/A", "/Alt", "/ActualText", "/E", "/Lang", "/T")
CELLS = {"TH", "TD"}
NEVER_EMPTY = {"TH", "TD", "TR", "THead", "TBody", "TFoot", "Table", "Document"}


@dataclass(frozen=True)
class MC:
    page: int
    mcid: int


@dataclass
class Annot:
    obj: pikepdf.Dictionary
    page: int


@dataclass
class Node:
    type: str
    label: str | None = None
    kids: list[Any] = field(default_factory=list)   # Node | MC | Annot
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """The HTML tag this element comes from ("" if unknown)."""
        return self.label.split("|")[1] if self.label else ""

    @property
    def scope(self) -> str:
        return self.label.split("|")[2].lower() if self.label and self.label.count("|") >= 2 else ""

    def nodes(self) -> list[Node]:
        return [k for k in self.kids if isinstance(k, Node)]

    def walk(self) -> Iterator[Node]:
        yield self
        for k in self.nodes():
            yield from k.walk()

    def marks(self) -> Iterator[MC]:
        for k in self.kids:
            if isinstance(k, Node):
                yield from k.marks()
            elif isinstance(k, MC):
                yield k

    def annots(self) -> Iterator[Annot]:
        for k in self.kids:
            if isinstance(k, Node):
                yield from k.annots()
            elif isinstance(k, Annot):
                yield k

    def pages(self) -> tuple[int, int] | None:
        pages = [m.page for m in self.marks()]
        return (min(pages), max(pages)) if pages else None


# --- reading the tree WeasyPrint wrote -----------------------------------------------------

def _load(doc: pikepdf.Pdf) -> Node | None:
    root = doc.Root.get("/StructTreeRoot")
    if root is None:
        return None
    pages = {p.obj.objgen: i for i, p in enumerate(doc.pages)}

    def page_of(obj: Any, default: int) -> int:
        pg = obj.get("/Pg")
        return pages.get(pg.objgen, default) if pg is not None else default

    def load(obj: pikepdf.Dictionary, page: int) -> Node:
        page = page_of(obj, page)
        label = obj.get(LABEL)
        node = Node(str(obj.get("/S", "/NonStruct"))[1:], str(label) if label is not None else None)
        for key in KEEP_ATTRS:
            if key in obj:
                node.attrs[key] = obj[key]
        k = obj.get("/K")
        kids = [] if k is None else list(k) if isinstance(k, pikepdf.Array) else [k]
        for kid in kids:
            if isinstance(kid, int):
                node.kids.append(MC(page, int(kid)))
            elif isinstance(kid, pikepdf.Dictionary):
                kind = kid.get("/Type")
                if kind == "/MCR":
                    node.kids.append(MC(page_of(kid, page), int(kid.MCID)))
                elif kind == "/OBJR":
                    node.kids.append(Annot(kid.Obj, page_of(kid, page)))
                else:
                    node.kids.append(load(kid, page))
        return node

    k = root.get("/K")
    kids = [] if k is None else list(k) if isinstance(k, pikepdf.Array) else [k]
    top = Node("StructTreeRoot")
    top.kids = [load(kid, 0) for kid in kids if isinstance(kid, pikepdf.Dictionary)]
    return top


# --- repairs on the tree ---------------------------------------------------------------------

@dataclass
class Repair:
    """What the tree repairs decide about content and annotations."""

    artifacts: dict[MC, pikepdf.Dictionary | None] = field(default_factory=dict)
    dropped_annots: list[Annot] = field(default_factory=list)

    def artifact(self, node: Node | MC, kind: str = "/Layout") -> None:
        props = pikepdf.Dictionary(Type=pikepdf.Name(kind))
        for mc in ([node] if isinstance(node, MC) else node.marks()):
            self.artifacts[mc] = props
        if isinstance(node, Node):
            self.dropped_annots.extend(node.annots())


def _same_origin(a: Any, b: Any) -> bool:
    return (isinstance(a, Node) and isinstance(b, Node) and a.type == b.type
            and a.label is not None and a.label == b.label)


def _join_pieces(node: Node, repair: Repair) -> None:
    """Join the per-page (and per-column) pieces of one HTML element, top down."""
    # 1. a piece inside a piece of the same element (a list column): dissolve it
    while any(_same_origin(node, k) for k in node.kids):
        kids = []
        for k in node.kids:
            kids.extend(k.kids if _same_origin(node, k) else [k])
        node.kids = kids
    # 2. a table header repeated on the next page: an artifact
    if node.type == "Table":
        seen: set[str] = set()
        kids = []
        for k in node.kids:
            if isinstance(k, Node) and k.type in ("THead", "TFoot") and k.label:
                if k.label in seen:
                    repair.artifact(k, "/Pagination")
                    continue
                seen.add(k.label)
            kids.append(k)
        node.kids = kids
    # 3. consecutive pieces of one element on consecutive pages: one element
    kids = []
    for k in node.kids:
        prev = kids[-1] if kids else None
        if _same_origin(prev, k):
            a, b = prev.pages(), k.pages()
            if a is None or b is None or a[1] < b[0]:
                prev.kids.extend(k.kids)
                continue
        kids.append(k)
    node.kids = kids
    for k in node.nodes():
        _join_pieces(k, repair)


def _nest_lists(node: Node) -> None:
    """A list inside a list belongs in the body of the item before it."""
    for k in node.nodes():
        _nest_lists(k)
    if node.type != "L":
        return
    kids: list[Any] = []
    for k in node.kids:
        if isinstance(k, Node) and k.type == "L" and kids and isinstance(kids[-1], Node) \
                and kids[-1].type == "LI":
            item = kids[-1]
            body = next((b for b in item.nodes() if b.type == "LBody"), None)
            if body is None:
                body = Node("LBody")
                item.kids.append(body)
            body.kids.append(k)
            continue
        kids.append(k)
    node.kids = kids


def _pair_definitions(node: Node) -> None:
    """<dt> and <dd> items: one item, the term as its label and the definition as its body."""
    for k in node.nodes():
        _pair_definitions(k)
    if node.type != "L" or not any(isinstance(k, Node) and k.origin == "dt" for k in node.kids):
        return
    kids: list[Any] = []
    for k in node.kids:
        if isinstance(k, Node) and k.type == "LI" and k.origin == "dt":
            kids.append(Node("LI", k.label, [Node("Lbl", None, _content(k))]))
        elif isinstance(k, Node) and k.type == "LI" and k.origin == "dd" and kids \
                and isinstance(kids[-1], Node) and kids[-1].origin == "dt":
            kids[-1].kids.append(Node("LBody", None, _content(k)))
        else:
            kids.append(k)
    node.kids = kids


def _content(item: Node) -> list[Any]:
    """The kids of a list item without its LBody wrapper."""
    out: list[Any] = []
    for k in item.kids:
        out.extend(k.kids if isinstance(k, Node) and k.type == "LBody" else [k])
    return out


def _dissolve(node: Node, repair: Repair) -> None:
    """Wrappers with no meaning for a reader are dissolved into their parent: Div, NonStruct
    (a group that starts with a heading becomes a Sect), and Span without attributes.
    Images without a text alternative are decoration: artifacts."""
    for k in node.nodes():
        _dissolve(k, repair)
    kids: list[Any] = []
    for k in node.kids:
        if isinstance(k, Node):
            if k.type == "Figure" and not str(k.attrs.get("/Alt", "")).strip():
                repair.artifact(k)
                continue
            if k.type in GROUPS:
                # a group that starts with a heading is a section, unless it opens its parent
                # section (then the heading is the parent's own)
                first = next(iter(k.nodes()), None)
                if first is not None and first.type in HEADINGS \
                        and node.type in ("Document", "Sect", "Art", "Part") \
                        and (kids or node.type == "Document"):
                    k.type = "Sect"
                else:
                    kids.extend(k.kids)
                    continue
            elif k.type == "Span" and not k.attrs:
                kids.extend(k.kids)
                continue
        kids.append(k)
    node.kids = kids


def _form_labels(node: Node, text: Any) -> None:
    """A list item that starts with a form field (a tick box): the field is its label, and
    the item's text its name (WeasyPrint names it after the first line of a <label> only)."""
    for k in node.nodes():
        _form_labels(k, text)
    if node.type != "LI" or any(k.type == "Lbl" for k in node.nodes()):
        return
    body = next((k for k in node.nodes() if k.type == "LBody"), node)
    first = next((k for k in body.kids), None)
    if isinstance(first, Node) and first.type == "Form":
        body.kids.remove(first)
        node.kids.insert(0, Node("Lbl", None, [first]))
        if body is node:
            rest = [k for k in node.kids[1:]]
            node.kids = [node.kids[0], Node("LBody", None, rest)]
            body = node.kids[1]
        name = " ".join(text(list(body.marks())).split())
        for widget in first.annots():
            if name and widget.obj.get("/Subtype") == "/Widget":
                widget.obj.TU = pikepdf.String(name)


def _prune(node: Node) -> bool:
    """Drop elements with nothing to read; True if `node` itself is empty."""
    node.kids = [k for k in node.kids if not (isinstance(k, Node) and _prune(k))]
    if node.type in NEVER_EMPTY or "/Alt" in node.attrs or "/ActualText" in node.attrs:
        return False
    return not node.kids


# --- links -----------------------------------------------------------------------------------

def _links(doc: pikepdf.Pdf, top: Node, repair: Repair, text: Any) -> None:
    """One Link element and one annotation per link, described in words."""
    dests = _named_destinations(doc)
    outline = _outline_targets(doc)
    pages = {p.obj.objgen: i for i, p in enumerate(doc.pages)}
    for link in [n for n in top.walk() if n.type == "Link"]:
        # inner Links and inner elements dissolve into the outer one
        def flatten(n: Node) -> list[Any]:
            out: list[Any] = []
            for k in n.kids:
                out.extend(flatten(k) if isinstance(k, Node) else [k])
            return out
        kids = flatten(link)
        annots = [k for k in kids if isinstance(k, Annot)]
        marks = [k for k in kids if isinstance(k, MC)]
        link.kids = list(marks)
        if not annots:
            continue
        keep, extra = annots[0], annots[1:]
        rect = [float(v) for v in keep.obj.Rect]
        for other in extra:
            if other.page == keep.page:
                r = [float(v) for v in other.obj.Rect]
                rect = [min(rect[0], r[0]), min(rect[1], r[1]), max(rect[2], r[2]), max(rect[3], r[3])]
            repair.dropped_annots.append(other)
        keep.obj.Rect = pikepdf.Array(rect)
        link.kids.append(keep)
        target = _target_page(keep.obj, dests, pages)
        if target is not None and marks and text(marks[-1:]).strip() == str(target[0] + 1):
            marks = marks[:-1]  # the page number shown with the link: said in words below
        words = " ".join(text(marks).split())
        keep.obj.Contents = pikepdf.String(_describe(words, target, keep.obj, outline))


def _describe(words: str, target: tuple[int, float] | None, annot: pikepdf.Dictionary,
              outline: dict[int, list[tuple[float, str]]]) -> str:
    """Link text in words, with the page it leads to: "Step 1: Getting started, page 6"."""
    words = re.sub(r"(\s*[.\u2026\u00b7]){3,}", " ", words).strip()  # leader dots
    if target is None:
        uri = annot.get("/A", {}).get("/URI") if isinstance(annot.get("/A"), pikepdf.Dictionary) else None
        return words or (str(uri) if uri is not None else "Link")
    page, y = target
    number = page + 1
    if not re.search(r"[^\W\d_]", words):  # no words: a bare page number; name the target
        entries = outline.get(page, [])
        below = [title for top, title in entries if top <= y + 1]
        words = below[0] if below else entries[-1][1] if entries else ""
    return f"{words}, page {number}" if words else f"Page {number}"


def _named_destinations(doc: pikepdf.Pdf) -> dict[str, Any]:
    names = doc.Root.get("/Names")
    dests = names.get("/Dests") if names is not None else None
    out: dict[str, Any] = {}
    if dests is None:
        return out
    for key, value in pikepdf.NameTree(dests).items():
        out[str(key)] = value
    return out


def _target_page(annot: pikepdf.Dictionary, dests: dict[str, Any],
                 pages: dict[tuple[int, int], int]) -> tuple[int, float] | None:
    dest = annot.get("/Dest")
    if dest is None:
        action = annot.get("/A")
        if isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/GoTo":
            dest = action.get("/D")
    if isinstance(dest, (pikepdf.String, pikepdf.Name)):
        dest = dests.get(str(dest).lstrip("/"))
    if isinstance(dest, pikepdf.Dictionary):
        dest = dest.get("/D")
    if isinstance(dest, pikepdf.Array) and len(dest) >= 1 and isinstance(dest[0], pikepdf.Dictionary):
        page = pages.get(dest[0].objgen)
        try:
            y = float(dest[3])
        except (IndexError, TypeError, ValueError):
            y = 0.0
        return (page, y) if page is not None else None
    return None


def _outline_targets(doc: pikepdf.Pdf) -> dict[int, list[tuple[float, str]]]:
    """Bookmark titles by page, top of the page first."""
    pages = {p.obj.objgen: i for i, p in enumerate(doc.pages)}
    out: dict[int, list[tuple[float, str]]] = {}
    outlines = doc.Root.get("/Outlines")
    stack = [outlines.get("/First")] if outlines is not None else []
    seen: set[tuple[int, int]] = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, pikepdf.Dictionary) or item.objgen in seen:
            continue
        seen.add(item.objgen)
        stack.extend([item.get("/Next"), item.get("/First")])
        dest = item.get("/Dest")
        if isinstance(dest, pikepdf.Array) and len(dest) > 3 and isinstance(dest[0], pikepdf.Dictionary):
            page = pages.get(dest[0].objgen)
            if page is not None:
                out.setdefault(page, []).append((float(dest[3]), str(item.get("/Title", ""))))
    for entries in out.values():
        entries.sort(key=lambda e: -e[0])
    return out


# --- tables ----------------------------------------------------------------------------------

def _tables(top: Node) -> dict[str, Node]:
    """Scope on every header cell; IDs on header cells and Headers on every cell below or
    beside them, row-group headers included. Returns the IDs for the IDTree."""
    ids: dict[str, Node] = {}
    for number, table in enumerate(n for n in top.walk() if n.type == "Table"):
        groups: list[tuple[str, list[Node]]] = []   # (THead/TBody/TFoot, rows)
        for k in table.nodes():
            if k.type == "TR":
                groups.append(("TBody", [k]))
            elif k.type in ("THead", "TBody", "TFoot"):
                groups.append((k.type, [r for r in k.nodes() if r.type == "TR"]))
        grid: dict[tuple[int, int], Node] = {}
        placed: list[tuple[int, int, int, int, Node, str, int]] = []  # row, col, rows, cols, cell, group kind, group index
        r = 0
        for g, (kind, rows) in enumerate(groups):
            for row in rows:
                c = 0
                for cell in row.nodes():
                    if cell.type not in CELLS:
                        continue
                    while (r, c) in grid:
                        c += 1
                    attrs = cell.attrs.get("/A")
                    span_c = int(attrs.get("/ColSpan", 1)) if isinstance(attrs, pikepdf.Dictionary) else 1
                    span_r = int(attrs.get("/RowSpan", 1)) if isinstance(attrs, pikepdf.Dictionary) else 1
                    for dr in range(span_r):
                        for dc in range(span_c):
                            grid[(r + dr, c + dc)] = cell
                    placed.append((r, c, span_r, span_c, cell, kind, g))
                    c += span_c
                r += 1
        width = 1 + max((c for _, c in grid), default=0)
        scopes: dict[int, str] = {}
        for row, col, span_r, span_c, cell, kind, g in placed:
            if cell.type != "TH":
                continue
            scope = cell.scope
            if scope not in ("row", "col", "rowgroup", "colgroup", "both"):
                if kind == "THead":
                    scope = "col"
                elif span_c >= width and width > 1:
                    scope = "rowgroup"
                else:
                    others = [grid.get((row, c)) for c in range(width)]
                    scope = "row" if any(o is not None and o.type == "TD" for o in others) else "col"
            scopes[id(cell)] = scope
            cell_id = f"t{number}r{row}c{col}"
            cell.attrs["/ID"] = pikepdf.String(cell_id)
            ids[cell_id] = cell
            attrs = _table_attrs(cell)
            attrs.Scope = pikepdf.Name({"row": "/Row", "both": "/Both"}.get(scope, "/Column"))
        for row, col, span_r, span_c, cell, kind, g in placed:
            headers: list[str] = []
            for other_row, other_col, o_r, o_c, other, o_kind, o_g in placed:
                if other is cell or other.type != "TH":
                    continue
                scope = scopes[id(other)]
                cols = range(other_col, other_col + o_c)
                rows = range(other_row, other_row + o_r)
                same_cols = any(c in cols for c in range(col, col + span_c))
                same_rows = any(x in rows for x in range(row, row + span_r))
                if scope in ("col", "colgroup", "both") and same_cols and other_row < row \
                        and (o_kind == "THead" or o_g == g or scope == "colgroup"):
                    headers.append(str(other.attrs["/ID"]))
                elif scope in ("row", "both") and same_rows and other_col < col:
                    headers.append(str(other.attrs["/ID"]))
                elif scope == "rowgroup" and o_g == g and other_row < row:
                    headers.append(str(other.attrs["/ID"]))
            attrs = _table_attrs(cell)
            if headers:
                attrs.Headers = pikepdf.Array([pikepdf.String(h) for h in headers])
            elif "/Headers" in attrs:
                del attrs["/Headers"]
    return ids


def _table_attrs(cell: Node) -> pikepdf.Dictionary:
    attrs = cell.attrs.get("/A")
    if not isinstance(attrs, pikepdf.Dictionary):
        attrs = pikepdf.Dictionary(O=pikepdf.Name.Table)
    else:
        attrs = pikepdf.Dictionary({k: attrs[k] for k in attrs.keys() if k != "/Headers"})
    cell.attrs["/A"] = attrs
    return attrs


# --- writing it back -------------------------------------------------------------------------

def _write(doc: pikepdf.Pdf, top: Node, repair: Repair, content: dict[int, tuple[list, list[Marked]]]) -> None:
    pages = list(doc.pages)
    kept: dict[int, dict[int, int]] = {}   # page -> old MCID -> new MCID, in stream order
    owned = {mc for mc in top.marks()}
    for page, (ops, marked) in content.items():
        numbers: dict[int, int] = {}
        height = float(pages[page].mediabox[3]) - float(pages[page].mediabox[1])
        changed = False
        for m in marked:
            if m.tag == "/Artifact":
                continue
            mc = MC(page, m.mcid) if m.mcid is not None else None
            if mc is not None and mc in owned:
                new = len(numbers)
                numbers[m.mcid] = new
                if new != m.mcid:
                    props = pikepdf.Dictionary({k: v for k, v in m.properties.items()})
                    props.MCID = new
                    ops[m.op] = pikepdf.ContentStreamInstruction([pikepdf.Name(m.tag), props],
                                                                 pikepdf.Operator("BDC"))
                    changed = True
                continue
            props = repair.artifacts.get(mc) if mc is not None else None
            if props is None:  # reached by nothing: a running header or footer
                y = m.y if m.y is not None else 0.0
                props = pikepdf.Dictionary(Type=pikepdf.Name.Pagination,
                                           Subtype=pikepdf.Name.Footer if y < height / 2 else pikepdf.Name.Header)
            ops[m.op] = pikepdf.ContentStreamInstruction([pikepdf.Name.Artifact, props],
                                                         pikepdf.Operator("BDC"))
            changed = True
        kept[page] = numbers
        if changed:
            pages[page].obj.Contents = doc.make_stream(pikepdf.unparse_content_stream(ops))

    # annotations that are no longer links
    dropped = {a.obj.objgen for a in repair.dropped_annots}
    for page in pages:
        annots = page.obj.get("/Annots")
        if annots is not None and dropped:
            page.obj.Annots = pikepdf.Array([a for a in annots if a.objgen not in dropped])

    parent_tree: dict[int, dict[int, Any]] = {}
    id_refs: dict[str, Any] = {}
    annot_keys: list[tuple[pikepdf.Dictionary, Any]] = []
    page_refs = [p.obj for p in pages]

    def make(node: Node, parent: Any) -> pikepdf.Dictionary:
        elem = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem,
                                                    S=pikepdf.Name("/" + node.type), P=parent))
        for key, value in node.attrs.items():
            elem[key] = value
        if "/ID" in node.attrs:
            id_refs[str(node.attrs["/ID"])] = elem
        first = next(node.marks(), None)
        if first is not None:
            elem.Pg = page_refs[first.page]
        kids = pikepdf.Array()
        for k in node.kids:
            if isinstance(k, Node):
                kids.append(make(k, elem))
            elif isinstance(k, MC):
                if k.mcid not in kept.get(k.page, {}):
                    continue  # no such marked content on the page
                mcid = kept[k.page][k.mcid]
                parent_tree.setdefault(k.page, {})[mcid] = elem
                if first is not None and k.page == first.page:
                    kids.append(mcid)
                else:
                    kids.append(pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page_refs[k.page], MCID=mcid))
            elif isinstance(k, Annot):
                annot_keys.append((k.obj, elem))
                kids.append(pikepdf.Dictionary(Type=pikepdf.Name.OBJR, Obj=k.obj, Pg=page_refs[k.page]))
        elem.K = kids
        return elem

    root = doc.Root.StructTreeRoot
    root.K = pikepdf.Array([make(k, root) for k in top.nodes()])
    nums = pikepdf.Array()
    for page in sorted(parent_tree):
        entries = parent_tree[page]
        nums.append(page)
        nums.append(doc.make_indirect(pikepdf.Array([entries.get(i) for i in range(max(entries) + 1)])))
    for i, page in enumerate(pages):
        if i in parent_tree:
            page.obj.StructParents = i
        elif "/StructParents" in page.obj:
            del page.obj["/StructParents"]
    key = len(pages)
    for annot, elem in annot_keys:
        annot.StructParent = key
        nums.append(key)
        nums.append(elem)
        key += 1
    root.ParentTree = doc.make_indirect(pikepdf.Dictionary(Nums=nums))
    root.ParentTreeNextKey = key
    if id_refs:
        names = pikepdf.Array()
        for name in sorted(id_refs):
            names.append(pikepdf.String(name))
            names.append(id_refs[name])
        root.IDTree = doc.make_indirect(pikepdf.Dictionary(Names=names))
    elif "/IDTree" in root:
        del root["/IDTree"]


def repair(doc: pikepdf.Pdf) -> None:
    """Repair the structure tree of `doc` in place (see the module docstring)."""
    top = _load(doc)
    if top is None:
        return
    content: dict[int, tuple[list, list[Marked]]] = {}
    fonts: dict = {}
    for i, page in enumerate(doc.pages):
        ops = pikepdf.parse_content_stream(page)
        content[i] = (ops, scan(page, ops, i, fonts)[0])
    by_mc = {(m.page, m.mcid): m for _, marked in content.values() for m in marked if m.mcid is not None}

    def text(marks: list[MC]) -> str:
        return join([by_mc[(mc.page, mc.mcid)] for mc in marks if (mc.page, mc.mcid) in by_mc])

    rep = Repair()
    for node in top.nodes():
        _join_pieces(node, rep)
    _nest_lists(top)
    _pair_definitions(top)
    _dissolve(top, rep)
    _links(doc, top, rep, text)
    _form_labels(top, text)
    _prune(top)
    _tables(top)
    _write(doc, top, rep, content)
    if "/Outlines" in doc.Root:
        doc.Root.PageMode = pikepdf.Name.UseOutlines


def tag(pdf: bytes) -> bytes:
    """The finishing step: bytes in, repaired bytes out."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        repair(doc)
        out = io.BytesIO()
        doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True,
                 deterministic_id=True)
        return out.getvalue()
