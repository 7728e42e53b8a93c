"""The code tables (data files in `codes/`) and small helpers to read codes from FHIR JSON."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from typing import Any


@lru_cache(maxsize=None)
def table(name: str) -> dict[str, Any]:
    """One code table, `codes/<name>.yaml`, as loaded (cached)."""
    import yaml

    text = (files("booklet.fhir") / "codes" / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=None)
def _systems() -> dict[str, str]:
    return {url.rstrip("/").lower(): short for short, urls in table("systems").items() for url in urls}


SHOWN = {"snomed": "SNOMED", "loinc": "LOINC", "icd10": "ICD-10", "icdo3": "ICD-O-3", "ajcc": "AJCC",
         "rxnorm": "RxNorm", "atc": "ATC", "hgnc": "HGNC", "cpt": "CPT",
         "interpretation": "v3 interpretation"}


def system(url: Any) -> str | None:
    """The short name of a code system address (snomed, loinc, ...), or None if unknown."""
    if not isinstance(url, str):
        return None
    return _systems().get(url.strip().rstrip("/").lower())


def codings(concept: Any) -> list[tuple[str | None, str, str]]:
    """(system short name, code, display) for each coding of a CodeableConcept."""
    if not isinstance(concept, dict):
        return []
    out = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code") not in (None, ""):
            out.append((system(coding.get("system")), str(coding["code"]).strip(),
                        str(coding.get("display") or "")))
    return out


def words(concept: Any) -> str:
    """Every human-readable word of a CodeableConcept: its text and its displays."""
    if isinstance(concept, str):
        return concept
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text") or "")]
    parts += [str(c.get("display") or "") for c in concept.get("coding") or [] if isinstance(c, dict)]
    return " ".join(p for p in parts if p).strip()


def show(sys: str | None, code: str, display: str = "") -> str:
    """'SNOMED 94222008 (Secondary malignant neoplasm of bone)' for messages and comments."""
    name = SHOWN.get(sys or "", sys or "code")
    return f"{name} {code}" + (f" ({display})" if display else "")


def show_concept(concept: Any) -> str:
    """A CodeableConcept as it is written: its codes, else its text."""
    found = codings(concept)
    if found:
        return ", ".join(show(s, c, d) for s, c, d in found)
    text = words(concept)
    return f"text '{text}'" if text else "no code and no text"


def icd10(code: str) -> str:
    """ICD-10 codes written with or without the dot: C50911 -> C50.911."""
    code = code.strip().upper()
    if "." not in code and len(code) > 3:
        code = code[:3] + "." + code[3:]
    return code


def icdo3(code: str) -> str:
    """ICD-O-3 morphology with or without the slash: 85003 -> 8500/3."""
    code = code.strip()
    if re.fullmatch(r"\d{5}", code):
        code = code[:4] + "/" + code[4]
    return code


def hgnc(code: str) -> str:
    """HGNC ids written as 1100 or HGNC:1100 -> HGNC:1100."""
    code = code.strip().upper()
    return code if code.startswith("HGNC:") else f"HGNC:{code}"


def matches(patterns: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The first table row whose `pattern` is found in `text` (case-insensitive)."""
    low = text.lower()
    for row in patterns:
        if re.search(row["pattern"], low):
            return row
    return None
