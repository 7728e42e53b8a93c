"""`booklet profile from-fhir`: the derived profile as YAML, each field with where it came from."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

from booklet.fhir.derive import BIOMARKERS, Derived

ORDER = ("name", "sex", "stage", "type", "er", "pr", "hr", "her2", "menopause", "metastases",
         "biomarkers", "prior_therapies", "current_therapies", "start_date", "phase", "province",
         "language")
CLINICAL = ("stage", "type", "er", "pr", "her2", "menopause", "biomarkers")


def _comment(text: str, indent: str = "") -> list[str]:
    return [indent + "# " + line for line in textwrap.wrap(text, 96 - len(indent),
                                                            break_on_hyphens=False)]


def _item(text: str) -> list[str]:
    lines = textwrap.wrap(text, 90, break_on_hyphens=False)
    return ["#   - " + lines[0]] + ["#     " + line for line in lines[1:]]


def _dump(key: str, value: Any) -> str:
    import yaml

    return yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100).rstrip("\n")


def to_yaml(derived: Derived, source: str, as_of: dt.date, refused: list[str]) -> str:
    """The profile as YAML: a header (patient id, warnings, what render would refuse), then
    each field after a comment naming the resource, element and code it came from."""
    from booklet import __version__

    data = dict(derived.data)
    for key in CLINICAL:
        data.setdefault(key, {b: "unknown" for b in BIOMARKERS} if key == "biomarkers" else "unknown")
    if data.get("sex") == "male":
        data.pop("menopause", None)
    if isinstance(data.get("biomarkers"), dict):
        data["biomarkers"] = {b: data["biomarkers"].get(b, "unknown") for b in BIOMARKERS}
    out = [f"# Profile from the FHIR record {source} ({derived.patient}),",
           f"# read by booklet {__version__} on {as_of.isoformat()}.",
           "# Edit it if the record is wrong or out of date, then: booklet render THIS.yaml",
           "# The name is printed on the booklet's cover only (never in file names or logs)."]
    warnings = derived.warnings
    if warnings:
        out.append(f"# Check these ({len(warnings)}):")
        out += [line for note in warnings for line in _item(str(note))]
    info = [n for n in derived.notes if not n.warn]
    if info:
        out.append("# Also noted:")
        out += [line for note in info for line in _item(str(note))]
    if refused:
        out.append("# `booklet render` refuses this profile as it stands; correct these first:")
        out += [line for problem in refused for line in _item(problem)]
    out.append("")
    for key in ORDER:
        if key not in data:
            continue
        value = data[key]
        sources = derived.sources.get(key, [])
        if key == "biomarkers":
            out.append("biomarkers:")
            for b, v in value.items():
                src = derived.sources.get(f"biomarkers.{b}", [])
                out += _comment("; ".join(src) if src else "not in the record", "  ")
                out.append(f"  {b}: {v}")
            continue
        if key == "name":
            out.append("# Patient.name (printed on the cover only)")
        elif sources:
            out += _comment("; ".join(sources))
        elif value in ("unknown", None, [], {}):
            out.append("# not in the record")
        out.append(_dump(key, value))
    return "\n".join(out) + "\n"
