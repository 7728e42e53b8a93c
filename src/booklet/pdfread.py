"""Read a tagged PDF the way assistive technology does: the structure tree, and the marked
content of each page with its text, position and size.

Used by the finishing step (`booklet.tagging`), the tests and the sweep script. pikepdf
only; fonts are decoded through their ToUnicode maps (WeasyPrint writes one for every font).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pikepdf

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def mul(a: Matrix, b: Matrix) -> Matrix:
    """a then b (PDF order: a is applied first)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def _hex(text: bytes) -> bytes:
    return bytes.fromhex(text.decode("ascii"))


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", "replace")


class ToUnicode:
    """A font's ToUnicode CMap: character codes to text."""

    def __init__(self, font: pikepdf.Dictionary):
        self.width = 2 if font.get("/Subtype") == "/Type0" else 1
        self.map: dict[bytes, str] = {}
        stream = font.get("/ToUnicode")
        if stream is None:
            return
        data = stream.read_bytes()
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
                self.map[_hex(src)] = _utf16(_hex(dst))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
            for lo, hi, dst in re.findall(
                    rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
                lo_b, hi_b = _hex(lo), _hex(hi)
                n = len(lo_b)
                start, end = int.from_bytes(lo_b, "big"), int.from_bytes(hi_b, "big")
                if dst.startswith(b"["):
                    targets = [_utf16(_hex(t)) for t in re.findall(rb"<([0-9A-Fa-f]*)>", dst)]
                    for i, code in enumerate(range(start, end + 1)):
                        if i < len(targets):
                            self.map[code.to_bytes(n, "big")] = targets[i]
                else:
                    base = _hex(dst[1:-1])
                    first = int.from_bytes(base, "big")
                    for i, code in enumerate(range(start, end + 1)):
                        self.map[code.to_bytes(n, "big")] = _utf16((first + i).to_bytes(len(base), "big"))

    def decode(self, data: bytes) -> str:
        w = self.width
        return "".join(self.map.get(data[i:i + w], "\ufffd") for i in range(0, len(data) - w + 1, w))


@dataclass
class Marked:
    """One marked-content sequence on a page (outermost level)."""

    page: int
    index: int                 # position among the page's marked-content sequences
    op: int                    # index of its BDC/BMC operator in the parsed content stream
    tag: str                   # /Span, /Artifact, ...
    mcid: int | None
    properties: dict[str, Any]
    sizes: list[float] = field(default_factory=list)   # effective font sizes (pt) of its text
    x: float | None = None     # first glyph origin, PDF user space (y up)
    y: float | None = None
    painted: bool = False      # draws anything (text, path, image)
    shown: list[tuple[ToUnicode | None, Any]] = field(default_factory=list, repr=False)
    _text: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The text it shows (decoded on first use)."""
        if self._text is None:
            parts = []
            for font, arg in self.shown:
                if font is None:
                    continue
                if isinstance(arg, pikepdf.Array):
                    data = b"".join(bytes(a) for a in arg if isinstance(a, pikepdf.String))
                else:
                    data = bytes(arg)
                parts.append(font.decode(data))
            self._text = "".join(parts)
        return self._text


PAINT = {"f", "F", "f*", "B", "B*", "b", "b*", "S", "s", "Do", "sh", "BI", "Tj", "TJ", "'", '"'}


TRACKED = "BDC BMC EMC q Q cm BT Tm Td TD T* TL Tf Tj TJ ' \""


def page_content(page: pikepdf.Page, number: int, fonts: dict | None = None,
                 paint: bool = True) -> tuple[list[Marked], int]:
    """The page's marked-content sequences in stream order, and the number of painting
    operators outside any marked content (counted only with `paint`)."""
    ops = " ".join(sorted(set(TRACKED.split()) | (PAINT if paint else set())))
    return scan(page, pikepdf.parse_content_stream(page, ops), number, fonts)


def scan(page: pikepdf.Page, instructions: list, number: int,
         fonts: dict | None = None) -> tuple[list[Marked], int]:
    """Marked-content sequences in already parsed `instructions` of `page`."""
    fonts = {} if fonts is None else fonts
    resources = page.obj.get("/Resources", pikepdf.Dictionary())
    font_res = resources.get("/Font", pikepdf.Dictionary())
    out: list[Marked] = []
    unmarked = 0
    depth = 0
    current: Marked | None = None
    ctm: Matrix = IDENTITY
    stack: list[Matrix] = []
    tm: Matrix = IDENTITY
    tlm: Matrix = IDENTITY
    font: ToUnicode | None = None
    size = 0.0
    leading = 0.0
    for position, instr in enumerate(instructions):
        op = str(instr.operator)
        args = instr.operands if not isinstance(instr, pikepdf.ContentStreamInlineImage) else []
        if isinstance(instr, pikepdf.ContentStreamInlineImage):
            op = "BI"
        if op in ("BDC", "BMC"):
            if depth == 0:
                props: dict[str, Any] = {}
                if op == "BDC" and isinstance(args[1], pikepdf.Dictionary):
                    props = {str(k): args[1][k] for k in args[1].keys()}
                mcid = int(props["/MCID"]) if "/MCID" in props else None
                current = Marked(number, len(out), position, str(args[0]), mcid, props)
                out.append(current)
            depth += 1
        elif op == "EMC":
            depth -= 1
            if depth == 0:
                current = None
        elif op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else IDENTITY
        elif op == "cm":
            ctm = mul(tuple(float(a) for a in args), ctm)  # type: ignore[arg-type]
        elif op == "BT":
            tm = tlm = IDENTITY
        elif op == "Tm":
            tm = tlm = tuple(float(a) for a in args)  # type: ignore[assignment]
        elif op in ("Td", "TD"):
            tx, ty = float(args[0]), float(args[1])
            if op == "TD":
                leading = -ty
            tm = tlm = mul((1, 0, 0, 1, tx, ty), tlm)
        elif op == "TL":
            leading = float(args[0])
        elif op == "T*":
            tm = tlm = mul((1, 0, 0, 1, 0, -leading), tlm)
        elif op == "Tf":
            ref = font_res.get(str(args[0]))
            if ref is not None:
                key = ref.objgen if ref.is_indirect else id(ref)
                if key not in fonts:
                    fonts[key] = ToUnicode(ref)
                font = fonts[key]
            size = float(args[1])
        if op in PAINT:
            if current is None:
                unmarked += 1
            else:
                current.painted = True
        if op in ("Tj", "TJ", "'", '"') and current is not None:
            current.shown.append((font, args[-1] if op != "TJ" else args[0]))
            m = mul(tm, ctm)
            current.sizes.append(round(size * (m[2] ** 2 + m[3] ** 2) ** 0.5, 2))
            if current.x is None:
                current.x, current.y = m[4], m[5]
    return out, unmarked


def join(marked: list[Marked]) -> str:
    """Text of marked-content sequences; where a sequence starts a new line, a space."""
    parts: list[str] = []
    last_y = None
    for m in marked:
        text = m.text
        if parts and last_y is not None and m.y is not None and abs(m.y - last_y) > 1 \
                and not parts[-1].endswith(" ") and not text.startswith(" "):
            parts.append(" ")
        parts.append(text)
        if m.y is not None:
            last_y = m.y
    return "".join(parts)


@dataclass
class Elem:
    """A structure element."""

    obj: pikepdf.Dictionary
    type: str
    parent: Elem | None
    depth: int
    kids: list[Any] = field(default_factory=list)   # Elem | ("mcid", page, mcid) | ("objr", annot)

    def elems(self) -> Iterator[Elem]:
        for k in self.kids:
            if isinstance(k, Elem):
                yield k

    def walk(self) -> Iterator[Elem]:
        yield self
        for k in self.elems():
            yield from k.walk()

    def marked(self) -> Iterator[tuple[int, int]]:
        """(page, mcid) of every marked-content sequence under this element, in order."""
        for k in self.kids:
            if isinstance(k, Elem):
                yield from k.marked()
            elif k[0] == "mcid":
                yield k[1], k[2]

    def get(self, key: str, default: Any = None) -> Any:
        return self.obj.get(key, default)


class Reader:
    """A tagged PDF as a screen reader meets it."""

    def __init__(self, pdf: pikepdf.Pdf):
        self.pdf = pdf
        self.page_index = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
        self._content: dict[int, tuple[list[Marked], int]] = {}
        self._fonts: dict = {}
        self._by_mcid: dict[int, dict[int, Marked]] = {}
        self.root = self._tree()

    @classmethod
    def open(cls, data: bytes) -> Reader:
        import io

        return cls(pikepdf.open(io.BytesIO(data)))

    def _tree(self) -> Elem | None:
        str_root = self.pdf.Root.get("/StructTreeRoot")
        if str_root is None:
            return None
        top = Elem(str_root, "StructTreeRoot", None, -1)
        self._fill(top, str_root, None)
        return top

    def _page_of(self, obj: Any) -> int | None:
        pg = obj.get("/Pg") if isinstance(obj, pikepdf.Dictionary) else None
        return self.page_index.get(pg.objgen) if pg is not None else None

    def _fill(self, elem: Elem, obj: pikepdf.Dictionary, page: int | None) -> None:
        page = self._page_of(obj) if self._page_of(obj) is not None else page
        k = obj.get("/K")
        if k is None:
            return
        kids = list(k) if isinstance(k, pikepdf.Array) else [k]
        for kid in kids:
            if isinstance(kid, int) or (isinstance(kid, pikepdf.Object)
                                       and kid._type_code == pikepdf.ObjectType.integer):
                elem.kids.append(("mcid", page, int(kid)))
            elif isinstance(kid, pikepdf.Dictionary):
                kind = kid.get("/Type")
                if kind == "/MCR":
                    pg = self._page_of(kid)
                    elem.kids.append(("mcid", pg if pg is not None else page, int(kid.MCID)))
                elif kind == "/OBJR":
                    elem.kids.append(("objr", kid.get("/Obj")))
                else:
                    child = Elem(kid, str(kid.get("/S", "/?"))[1:], elem, elem.depth + 1)
                    elem.kids.append(child)
                    self._fill(child, kid, page)

    def elements(self) -> Iterator[Elem]:
        if self.root is None:
            return
        for k in self.root.elems():
            yield from k.walk()

    def content(self, page: int) -> list[Marked]:
        return self._page(page)[0]

    def unmarked_operators(self, page: int) -> int:
        return self._page(page)[1]

    def _page(self, page: int) -> tuple[list[Marked], int]:
        if page not in self._content:
            self._content[page] = page_content(self.pdf.pages[page], page, self._fonts)
        return self._content[page]

    def marked_of(self, elem: Elem) -> list[Marked]:
        """The marked content an element reaches, in structure order."""
        out = []
        for page, mcid in elem.marked():
            m = self.by_mcid(page).get(mcid)
            if m is not None:
                out.append(m)
        return out

    def by_mcid(self, page: int) -> dict[int, Marked]:
        if page not in self._by_mcid:
            self._by_mcid[page] = {m.mcid: m for m in self.content(page) if m.mcid is not None}
        return self._by_mcid[page]

    def text_of(self, elem: Elem) -> str:
        """The text of an element, in structure order; a new line adds a space."""
        return join(self.marked_of(elem))

    def owned(self) -> set[tuple[int, int]]:
        """(page, mcid) of every marked-content sequence the structure tree reaches."""
        return set() if self.root is None else set(self.root.marked())

    def orphans(self) -> list[Marked]:
        """Marked content that is neither an artifact nor reached from the structure tree:
        a screen reader meets it nowhere, or out of order."""
        owned = self.owned()
        out = []
        for page in range(len(self.pdf.pages)):
            for m in self.content(page):
                if m.tag != "/Artifact" and (m.mcid is None or (page, m.mcid) not in owned):
                    out.append(m)
        return out


HEADING = re.compile(r"^H[1-6]?$")
WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass
class Audit:
    """What a screen-reader user (and a reader of the print) meets, counted."""

    pages: int = 0
    elements: int = 0
    untagged: int = 0                 # marked content neither in the tree nor an artifact
    unmarked: int = 0                 # painting operators outside any marked content
    links: int = 0                    # Link elements
    link_annotations: int = 0
    nested_links: int = 0             # Link elements inside a Link element
    links_without_words: list[str] = field(default_factory=list)   # their descriptions
    th_without_scope: int = 0
    sections_without_heading: list[str] = field(default_factory=list)
    bad_list_nesting: list[str] = field(default_factory=list)
    body_sizes: dict[float, int] = field(default_factory=dict)     # size -> characters, tagged text
    other_sizes: dict[float, int] = field(default_factory=dict)    # size -> characters, artifacts
    contents_pieces: int | None = None  # tagged pieces of the contents (heading and entries)
    lang: str = ""
    title: str = ""
    page_mode: str = ""

    @property
    def min_body(self) -> float:
        return min(self.body_sizes, default=0.0)

    @property
    def min_other(self) -> float:
        return min(self.other_sizes, default=0.0)


def audit(data: bytes, contents_heading: str = "Contents") -> Audit:
    """Read `data` as assistive technology does and count what goes wrong."""
    r = Reader.open(data)
    out = Audit(pages=len(r.pdf.pages))
    root = r.pdf.Root
    out.lang = str(root.get("/Lang", ""))
    out.title = str(r.pdf.docinfo.get("/Title", ""))
    out.page_mode = str(root.get("/PageMode", ""))
    for page in range(out.pages):
        out.unmarked += r.unmarked_operators(page)
        for m in r.content(page):
            chars = len(m.text.strip())
            if not chars:
                continue
            sizes = out.other_sizes if m.tag == "/Artifact" else out.body_sizes
            for size in set(m.sizes):
                sizes[round(size, 1)] = sizes.get(round(size, 1), 0) + chars
    out.untagged = len(r.orphans())
    first_sect = True
    for e in r.elements():
        out.elements += 1
        kids = list(e.elems())
        if e.type == "Link":
            out.links += 1
            if any(a.type == "Link" for a in _ancestors(e)):
                out.nested_links += 1
            for k in e.kids:
                if isinstance(k, tuple) and k[0] == "objr":
                    out.link_annotations += 1
                    text = str(k[1].get("/Contents", ""))
                    dest = str(k[1].get("/Dest", ""))
                    if not WORD.search(text) or text == dest:
                        out.links_without_words.append(text)
        elif e.type == "TH":
            attrs = e.get("/A")
            scoped = False
            for a in (attrs if isinstance(attrs, pikepdf.Array) else [attrs] if attrs is not None else []):
                if isinstance(a, pikepdf.Dictionary) and "/Scope" in a:
                    scoped = True
            out.th_without_scope += not scoped
        elif e.type in ("Sect", "Art"):
            if first_sect and e.type == "Sect":
                first_sect = False  # the cover
            elif not kids or not HEADING.match(kids[0].type):
                out.sections_without_heading.append(r.text_of(e)[:60])
        elif e.type == "L":
            bad = [k.type for k in kids if k.type not in ("LI", "Caption")]
            if bad:
                out.bad_list_nesting.append(f"L contains {bad[0]}: {r.text_of(e)[:40]}")
        elif e.type == "LI":
            bad = [k.type for k in kids if k.type not in ("Lbl", "LBody")]
            if bad:
                out.bad_list_nesting.append(f"LI contains {bad[0]}: {r.text_of(e)[:40]}")
        if HEADING.match(e.type) and r.text_of(e).strip() == contents_heading and e.parent is not None:
            # the contents share the cover page: count the pieces of the contents element
            out.contents_pieces = sum(1 for m in r.marked_of(e.parent) if m.tag != "/Artifact")
    return out


def _ancestors(e: Elem) -> Iterator[Elem]:
    p = e.parent
    while p is not None:
        yield p
        p = p.parent


def reading_order(reader: Reader, page: int) -> tuple[list[Marked], list[str]]:
    """The tagged text of `page` in structure order, and where that order departs from
    what the eye reads: each piece must follow the one before on the same line, on a line
    below, or at the top of a column to its right. Also reports text read twice or never."""
    seq: list[Marked] = []
    by_mcid = reader.by_mcid(page)
    if reader.root is not None:
        for p, mcid in reader.root.marked():
            if p == page and mcid in by_mcid and by_mcid[mcid].text.strip():
                seq.append(by_mcid[mcid])
    problems = []
    ids = [m.mcid for m in seq]
    if len(ids) != len(set(ids)):
        problems.append("some text is read twice")
    shown = [m for m in reader.content(page) if m.tag != "/Artifact" and m.text.strip()]
    missing = [m.text for m in shown if m.mcid not in set(ids)]
    if missing:
        problems.append(f"never read: {missing[:3]}")
    for a, b in zip(seq, seq[1:]):
        if a.y is None or b.y is None or a.x is None or b.x is None:
            continue
        below = b.y < a.y - 1
        same_line = abs(b.y - a.y) <= 1 and b.x > a.x
        next_column = b.x > a.x + 36
        if not (below or same_line or next_column):
            problems.append(f"{a.text.strip()[:30]!r} then {b.text.strip()[:30]!r}")
    return seq, problems
