"""Stage 6: finish the PDF: named post-processing steps, then an atomic write.

Every render goes through "tag" (booklet.tagging: the structure tree as a screen reader
needs it); "impose" and "encrypt" are optional. Title, language and subject come from the
HTML.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from booklet.errors import BookletError, RenderError

Step = Callable[..., bytes]


def encrypt(pdf: bytes, password: str) -> bytes:
    """AES-256 with a user password; screen readers keep access; structure kept.

    pikepdf (qpdf) keeps object streams and the structure tree as they are; a pypdf
    re-save drops object streams and makes the file much larger.
    """
    import pikepdf

    allow = pikepdf.Permissions(accessibility=True, extract=True, print_lowres=True,
                                print_highres=True, modify_annotation=False, modify_assembly=False,
                                modify_form=True, modify_other=False)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        out = io.BytesIO()
        doc.save(out, encryption=pikepdf.Encryption(user=password, owner=secrets.token_urlsafe(24),
                                                    R=6, allow=allow),
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()


def saddle_order(pages: int) -> list[tuple[int, int]]:
    """(left, right) page indexes for each printed side of a saddle-stitched booklet.

    Sheet k carries, on its front, the last-but-2k page on the left and page 2k on the
    right; on its back, page 2k+1 on the left and the last-but-(2k+1) page on the right.
    Printed duplex (flip on the short edge), folded and stapled, it reads in order.
    """
    if pages % 4:
        raise ValueError("a saddle-stitched booklet needs a multiple of 4 pages")
    sides = []
    for k in range(pages // 4):
        sides.append((pages - 1 - 2 * k, 2 * k))
        sides.append((2 * k + 1, pages - 2 - 2 * k))
    return sides


def impose(pdf: bytes, pad: bytes = b"") -> bytes:
    """Two booklet pages side by side on each landscape sheet, without scaling.

    `pad` holds extra pages (write-in pages of the same size) that fill the booklet up to
    a multiple of 4; they go at the end.

    The result is a print file: a sheet cannot carry the booklet's structure tree, so it
    has none (give the unimposed PDF to screen-reader users). It keeps what a sheet can
    keep: language, title and the other document information, the XMP metadata (without
    the PDF/UA claim), and the bookmarks, which lead to the sheet that holds each page. On
    each sheet the lower-numbered page is drawn first, so text read from the file comes in
    page order (the first sheet gives the cover, then the back page).
    """
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as src:
        if pad:
            with pikepdf.open(io.BytesIO(pad)) as extra:
                src.pages.extend(extra.pages)
        count = len(src.pages)
        box = src.pages[0].mediabox
        width, height = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
        out = pikepdf.new()
        where: dict[tuple[int, int], tuple[int, float]] = {}  # source page -> (sheet side, x offset)
        for side, (left, right) in enumerate(saddle_order(count)):
            sheet = out.add_blank_page(page_size=(2 * width, height))
            halves = sorted(((left, 0.0), (right, width)))
            for index, x in halves:
                sheet.add_overlay(src.pages[index], pikepdf.Rectangle(x, 0, x + width, height))
                where[src.pages[index].obj.objgen] = (side, x)
        for key in ("/Title", "/Subject", "/Keywords", "/Creator", "/Producer", "/CreationDate", "/ModDate"):
            if key in src.docinfo:
                out.docinfo[key] = src.docinfo[key]
        if "/Lang" in src.Root:
            out.Root.Lang = src.Root.Lang
        out.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        if "/Metadata" in src.Root:
            xmp = re.sub(rb'\s*(xmlns:)?pdfuaid(:part)?="[^"]*"', b"", src.Root.Metadata.read_bytes())
            xmp = re.sub(rb'<rdf:Description rdf:about=""\s*/>', b"", xmp)
            out.Root.Metadata = out.make_stream(xmp, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
        _copy_outline(src, out, where)
        buf = io.BytesIO()
        out.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True,
                 deterministic_id=True)
        return buf.getvalue()


def _copy_outline(src: Any, out: Any, where: dict[tuple[int, int], tuple[int, float]]) -> None:
    """The source's bookmarks, each leading to the sheet side (and half) holding its page."""
    import pikepdf

    def copy(item: Any, parent: Any) -> tuple[list[Any], int]:
        made, visible = [], 0
        while isinstance(item, pikepdf.Dictionary):
            dest = item.get("/Dest")
            entry = out.make_indirect(pikepdf.Dictionary(Title=item.get("/Title", pikepdf.String("")),
                                                         Parent=parent))
            if isinstance(dest, pikepdf.Array) and len(dest) >= 4 and isinstance(dest[0], pikepdf.Dictionary) \
                    and dest[0].objgen in where:
                side, x = where[dest[0].objgen]
                entry.Dest = pikepdf.Array([out.pages[side].obj, pikepdf.Name.XYZ,
                                            float(dest[2]) + x, dest[3], 0])
            kids, below = copy(item.get("/First"), entry)
            visible += 1
            if kids:
                entry.First, entry.Last = kids[0], kids[-1]
                closed = int(item.get("/Count", 0)) < 0
                entry.Count = -len(kids) if closed else below
                visible += 0 if closed else below
            if made:
                entry.Prev = made[-1]
                made[-1].Next = entry
            made.append(entry)
            item = item.get("/Next")
        return made, visible

    outlines = src.Root.get("/Outlines")
    if outlines is None:
        return
    root = out.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Outlines))
    top, visible = copy(outlines.get("/First"), root)
    if top:
        root.First, root.Last, root.Count = top[0], top[-1], visible
        out.Root.Outlines = root
        out.Root.PageMode = pikepdf.Name.UseOutlines


def tag(pdf: bytes) -> bytes:
    """The structure tree as a screen reader needs it (booklet.tagging)."""
    from booklet import tagging

    return tagging.tag(pdf)


STEPS: dict[str, Step] = {"tag": tag, "encrypt": encrypt, "impose": impose}  # named steps, in the order given


def finish(pdf: bytes, steps: Sequence[tuple[str, dict[str, Any]]] = ()) -> bytes:
    for name, settings in steps:
        try:
            pdf = STEPS[name](pdf, **settings)
        except BookletError:
            raise
        except Exception as exc:  # noqa: BLE001 - a finishing step failed: say which
            raise RenderError(f"finish: step '{name}' failed ({type(exc).__name__})") from None
    return pdf


def read_password(password_file: Path | None) -> str:
    """From a file (first line) or BOOKLET_PASSWORD; never from the command line."""
    if password_file is not None:
        try:
            text = Path(password_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BookletError(f"option '--password-file': cannot read {password_file} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise BookletError(f"option '--password-file': {password_file} is not UTF-8 text") from None
        password = text[0] if text else ""
        if not password:
            raise BookletError(f"option '--password-file': {password_file} is empty"
                               + (" on its first line" if any(text) else "")
                               + "; the password goes on the first line")
        where = "option '--password-file'"
    else:
        password = os.environ.get("BOOKLET_PASSWORD", "")
        where = "BOOKLET_PASSWORD"
    if not password:
        raise BookletError("option '--encrypt': no password: give --password-file FILE "
                           "or set BOOKLET_PASSWORD")
    check_password(password, where)
    return password


def check_password(password: str, where: str = "option '--encrypt'") -> None:
    """Long enough to be worth encrypting with. Messages never repeat the password."""
    if len(password) < 8:
        raise BookletError(f"{where}: the password is shorter than 8 characters")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside `path`, then rename: never a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".booklet-", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # the permissions any other tool would give the file
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
