"""Profiles from a clinic's record: HL7 FHIR R4 Bundles and Bulk Data exports (mCODE).

`load_profile` reads a Bundle and returns a normalised Profile whose readings hold every
note (conflicts, values read from text, hints, unmapped codes); `from_fhir` returns what
was derived, for `booklet profile from-fhir`. The code tables are data: `codes/*.yaml`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from booklet.errors import ProfileError
from booklet.profile import Reading
from booklet.fhir.derive import Derived, NoBreastCancer, Note, derive
from booklet.fhir.record import Record, check, patient_of

__all__ = ["Derived", "NoBreastCancer", "Note", "derive", "is_fhir_file", "load_profile",
           "from_fhir", "read_bundle", "records", "with_notes"]

MAX_BUNDLE = 200_000_000  # bytes
PEEK = 65_536


def is_fhir_file(path: str | Path) -> bool:
    """A .json file whose text names a FHIR resourceType (profiles never do)."""
    p = Path(path)
    if p.suffix.lower() != ".json" or not p.is_file():
        return False
    try:
        with p.open("rb") as f:
            head = f.read(PEEK)
    except OSError:
        return False
    return b'"resourceType"' in head


def read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE:
            raise ProfileError(f"{path}: file is larger than {MAX_BUNDLE // 1_000_000} MB")
        with path.open(encoding="utf-8-sig") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}") from None


def records(data: Any, source: str) -> list[tuple[str, Record]]:
    """A Bundle's resources, one Record per patient: [(patient id, record)]."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise ProfileError(f"{source}: not a FHIR resource (no resourceType)")
    if data["resourceType"] != "Bundle":
        raise ProfileError(f"{source}: a FHIR {data['resourceType']} resource, not a Bundle; give a "
                           "Bundle that holds the patient's resources (Patient, Condition, "
                           "Observation, medications, procedures)")
    shell = check({**data, "entry": []})
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise ProfileError(f"{source}: Bundle.entry is not a list")
    patients: dict[str, str] = {}  # reference form (id, fullUrl) -> patient id
    for entry in entries:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "Patient":
            pid = str(res.get("id") or entry.get("fullUrl") or f"patient-{len(patients) + 1}")
            patients[pid] = pid
            if entry.get("fullUrl"):
                patients[str(entry["fullUrl"])] = pid
    ids = list(dict.fromkeys(patients.values()))
    out: dict[str, Record] = {pid: Record() for pid in ids} or {"": Record()}
    if shell:
        for rec in out.values():
            rec.problems.append(f"the Bundle itself is not valid FHIR R4 ({shell}); its entries are "
                                "still read one by one")
    shared: list[tuple[Any, str | None, str]] = []
    for n, entry in enumerate(entries, 1):
        where = f"Bundle.entry[{n}]"
        if not isinstance(entry, dict):
            for rec in out.values():
                rec.problems.append(f"{where}: not an entry; skipped")
            continue
        res, full = entry.get("resource"), entry.get("fullUrl")
        owner = patient_of(res) if isinstance(res, dict) else None
        target = patients.get(owner or "") if owner else None
        if owner and target is None and len(out) == 1 and not ids:
            target = ""
        if target is None and owner and ids:
            for rec in out.values():
                rec.problems.append(f"{where}: belongs to {owner}, who is not in the Bundle; skipped")
            continue
        if target is None:
            shared.append((res, full, where))  # Medication and other patient-free resources
            continue
        out[target].add(res, full, where)
    for rec in out.values():
        for res, full, where in shared:
            rec.add(res, full, where)
    return list(out.items())


def read_bundle(path: str | Path) -> list[tuple[str, Record]]:
    p = Path(path)
    return records(read_json(p), str(path))


def with_notes(profile: Any, notes: Iterable[Note]) -> Any:
    """The profile with the record's notes as readings (`explain` lists them; warnings are
    printed by render, validate and batch)."""
    extra = tuple(RecordNote(n.field, "the FHIR record", "", n.text, n.warn) for n in notes)
    return dataclasses.replace(profile, readings=profile.readings + extra)


@dataclasses.dataclass(frozen=True)
class RecordNote(Reading):
    """A note from the FHIR record: a conflict, a value read from text, a hint..."""

    def __str__(self) -> str:
        return f"{self.field}: {self.note}"


def from_fhir(path: str | Path, as_of: dt.date,
              drug_names: Mapping[str, Iterable[str]]) -> Derived:
    """What one Bundle's record gives, before normalising. Raises ProfileError."""
    found = read_bundle(path)
    if len(found) > 1:
        raise ProfileError(f"{path}: the Bundle holds {len(found)} patients "
                           f"({', '.join('Patient/' + pid for pid, _ in found[:5])}); give one "
                           "patient's Bundle, or put the Bundles in a folder for `booklet batch`")
    try:
        return derive(found[0][1], as_of, drug_names)
    except NoBreastCancer as exc:
        raise NoBreastCancer([f"{path}: {p}" for p in exc.problems]) from None


def load_profile(path: str | Path, library: Any, as_of: dt.date | None = None) -> Any:
    """A normalised Profile from a FHIR Bundle, with the record's notes as readings."""
    from booklet.profile import normalise

    derived = from_fhir(path, as_of or dt.date.today(), library.drug_names)
    try:
        profile = normalise(derived.data, library.drug_names)
    except ProfileError as exc:
        raise ProfileError([f"{path}: {p}" for p in exc.problems] +
                           [f"{path}: from the record: {n}" for n in derived.warnings] +
                           [f"{path}: `booklet profile from-fhir {path}` prints the profile the "
                            "record gives, to correct and render"]) from None
    return with_notes(profile, derived.notes)
