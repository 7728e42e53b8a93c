"""Stage 6: finish the PDF: named, optional post-processing steps, then an atomic write.

The default path needs no step: title, language and subject come from the HTML.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

Step = Callable[[bytes], bytes]
STEPS: dict[str, Step] = {}  # name -> step; later issues register encrypt and impose here


def finish(pdf: bytes, steps: list[str]) -> bytes:
    for name in steps:
        pdf = STEPS[name](pdf)
    return pdf


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
