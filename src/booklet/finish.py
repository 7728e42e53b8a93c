"""Stage 6: finish the PDF: named, optional post-processing steps, then an atomic write.

The default path needs no step: title, language and subject come from the HTML.
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


STEPS: dict[str, Step] = {"encrypt": encrypt}  # named post-processing steps, in the order given


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
        password = text[0] if text else ""
    else:
        password = os.environ.get("BOOKLET_PASSWORD", "")
    if not password:
        raise BookletError("option '--encrypt': no password: give --password-file FILE "
                           "or set BOOKLET_PASSWORD")
    if len(password) < 8:
        raise BookletError("option '--encrypt': the password is shorter than 8 characters")
    return password


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside `path`, then rename: never a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".booklet-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
