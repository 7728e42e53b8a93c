"""Stage 6: finish the PDF: named post-processing steps, then an atomic write.

Every render goes through "tag" (booklet.tagging: the structure tree as a screen reader
needs it); "impose" and "encrypt" are optional. Title, language and subject come from the
HTML.
"""

from __future__ import annotations

import io
import os
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
        for left, right in saddle_order(count):
            sheet = out.add_blank_page(page_size=(2 * width, height))
            for index, x in ((left, 0.0), (right, width)):
                sheet.add_overlay(src.pages[index], pikepdf.Rectangle(x, 0, x + width, height))
        out.docinfo["/Title"] = src.docinfo.get("/Title", "")
        buf = io.BytesIO()
        out.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
        return buf.getvalue()


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
