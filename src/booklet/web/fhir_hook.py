"""The one place the web app meets the FHIR importer (`booklet profile from-fhir`).

When `booklet.fhir.from_fhir` can be imported, the form offers an upload that fills it from
a Bundle, and the nurse checks every field before making the booklet; without it (an
install without the importer) `available()` is False and the form shows no upload.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any


def _importer() -> Any:
    try:
        from booklet.fhir import from_fhir
    except ImportError:
        return None
    return from_fhir


def available() -> bool:
    return _importer() is not None


def profile_data(path: Path, day: dt.date, drug_names: Any) -> tuple[dict[str, Any], list[str]]:
    """(raw profile data, notes to show) from a FHIR Bundle file. The data is what
    `booklet profile from-fhir` prints as YAML: the form is filled with it, unrendered."""
    from_fhir = _importer()
    if from_fhir is None:
        raise RuntimeError("the FHIR importer is not installed")
    derived = from_fhir(path, day, drug_names)
    notes = [str(getattr(n, "text", n)) for n in getattr(derived, "warnings", [])]
    return dict(derived.data), notes
