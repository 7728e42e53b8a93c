"""One patient's FHIR resources, each checked against the R4 model before it is used.

Parsing and validation use the `fhir.resources` library's R4B models (`fhir.resources.R4B`):
the library's default models are R5, and mCODE is an R4 guide. R4B is R4's technical
correction and reads R4 JSON for every resource used here. A resource that fails validation
is reported (type, id, the first error) and skipped; the rest of the record is still used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Resource types the mapping reads; others (Encounter, DiagnosticReport, ...) are passed over.
USED = ("Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest",
        "MedicationAdministration", "Medication", "Procedure")


def model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def name(resource: dict[str, Any]) -> str:
    """'Condition/c1' (no patient data), for messages."""
    rid = resource.get("id")
    return f"{resource.get('resourceType', 'resource')}/{rid}" if rid else \
        f"{resource.get('resourceType', 'resource')} (no id)"


def check(resource: dict[str, Any]) -> str:
    """Why `resource` is not valid FHIR R4 (the first error), or '' when it is."""
    from pydantic import ValidationError

    try:
        model(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first.get("loc", ()) if not isinstance(p, int)) or "resource"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return f"{where}: {msg}{more}"
    except (ValueError, TypeError) as exc:  # not a model the library knows
        return str(exc)[:200]
    return ""


def patient_of(resource: dict[str, Any]) -> str | None:
    """The Patient id a resource belongs to: its own id for a Patient, else its subject."""
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id") or "") or None
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            text = ref["reference"]
            if "Patient/" in text:
                return text.rsplit("Patient/", 1)[1].split("/")[0] or None
            return text  # a urn:uuid: reference inside a Bundle
    return None


@dataclass
class Record:
    """The resources of one patient (and shared ones, such as Medication), valid ones only."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # resources skipped, and why
    duplicates: list[str] = field(default_factory=list)
    ignored: int = 0  # resources of types the mapping does not read

    def add(self, resource: Any, full_url: str | None = None, where: str = "") -> None:
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            self.problems.append(f"{where or 'an entry'}: not a FHIR resource (no resourceType); skipped")
            return
        rtype = resource["resourceType"]
        if rtype not in USED:
            self.ignored += 1
            return
        problem = check(resource)
        if problem:
            self.problems.append(f"{name(resource)}{' in ' + where if where else ''} is not valid "
                                 f"FHIR R4 and was skipped: {problem}")
            return
        key = f"{rtype}/{resource['id']}" if resource.get("id") else None
        if key and key in self.refs:
            old = self.refs[key]
            if json.dumps(old, sort_keys=True) == json.dumps(resource, sort_keys=True):
                self.duplicates.append(f"{key} is given twice; the copies are the same, one is used")
                return
            newer = _updated(resource) >= _updated(old)
            self.duplicates.append(f"{key} is given twice with different content; the "
                                   f"{'later' if newer else 'earlier'} copy "
                                   f"({'meta.lastUpdated' if _updated(resource) or _updated(old) else 'order in the file'}) is used")
            if not newer:
                return
            self.resources.remove(old)
        self.resources.append(resource)
        if key:
            self.refs[key] = resource
        if full_url:
            self.refs[full_url] = resource

    def of(self, *types: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["resourceType"] in types]

    def resolve(self, ref: Any) -> dict[str, Any] | None:
        """The resource a Reference points to, within this record."""
        if isinstance(ref, dict):
            ref = ref.get("reference")
        if not isinstance(ref, str):
            return None
        if ref in self.refs:
            return self.refs[ref]
        parts = ref.rstrip("/").split("/")
        if len(parts) >= 2:  # an absolute address ending in Type/id, or Type/id/_history/n
            for i in range(len(parts) - 1, 0, -1):
                key = f"{parts[i - 1]}/{parts[i]}"
                if key in self.refs:
                    return self.refs[key]
        return None


def _updated(resource: dict[str, Any]) -> str:
    meta = resource.get("meta")
    return str(meta.get("lastUpdated") or "") if isinstance(meta, dict) else ""
