"""Synthetic mCODE (FHIR R4) records for tests, examples and benchmarks. No real patient data.

    python scripts/fhir_synth.py bundles DIR             # the test bundles (tests/fhir/bundles)
    python scripts/fhir_synth.py export DIR -n 1000      # a Bulk Data export: one .ndjson per type
        [--broken K] [--seed S]

Resources follow the mCODE profiles: CancerPatient, PrimaryCancerCondition (with the
histology extension), SecondaryCancerCondition, TNM stage groups with T/N/M members,
TumorMarkerTest, GenomicVariant, CancerRelatedMedication*, CancerRelatedSurgicalProcedure.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

SCT, LNC, ICD10, ICDO3 = ("http://snomed.info/sct", "http://loinc.org", "http://hl7.org/fhir/sid/icd-10-cm",
                          "http://terminology.hl7.org/CodeSystem/icd-o-3")
AJCC, RXN, HGNC = "http://cancerstaging.org", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.genenames.org"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
HISTOLOGY = MCODE + "mcode-histology-morphology-behavior"
CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def cc(system: str | None = None, code: str | None = None, display: str | None = None,
       text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if code is not None:
        coding = {"system": system, "code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    if text:
        out["text"] = text
    return out


def ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def patient(pid: str, gender: str = "female", birth: str = "1960-05-20", state: str | None = "ON",
            country: str | None = "CA", lang: str | None = "en-CA", given: str = "Alex",
            family: str = "Testperson") -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": pid,
                           "meta": {"profile": [MCODE + "mcode-cancer-patient"]},
                           "name": [{"use": "official", "family": family, "given": [given]}],
                           "gender": gender, "birthDate": birth}
    if state:
        res["address"] = [{"use": "home", "city": "Sometown", "state": state,
                           **({"country": country} if country else {})}]
    if lang:
        res["communication"] = [{"language": cc("urn:ietf:bcp:47", lang), "preferred": True}]
    return res


def primary(pid: str, cid: str, code: dict[str, Any], histology: dict[str, Any] | None = None,
            summary: dict[str, Any] | None = None, onset: str = "2024-01-15",
            status: str = "active") -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Condition", "id": cid,
                           "meta": {"profile": [MCODE + "mcode-primary-cancer-condition"]},
                           "clinicalStatus": cc(CLIN, status), "verificationStatus": cc(VER, "confirmed"),
                           "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category",
                                           "problem-list-item")],
                           "code": code, "subject": ref("Patient", pid), "onsetDateTime": onset,
                           "bodySite": [cc(SCT, "80248007", "Left breast structure (body structure)")]}
    if histology:
        res["extension"] = [{"url": HISTOLOGY, "valueCodeableConcept": histology}]
    if summary:
        res["stage"] = [{"summary": summary}]
    return res


def secondary(pid: str, cid: str, code: dict[str, Any], onset: str, body: dict[str, Any] | None = None,
              status: str = "active") -> dict[str, Any]:
    res = {"resourceType": "Condition", "id": cid,
           "meta": {"profile": [MCODE + "mcode-secondary-cancer-condition"]},
           "clinicalStatus": cc(CLIN, status), "verificationStatus": cc(VER, "confirmed"),
           "code": code, "subject": ref("Patient", pid), "onsetDateTime": onset}
    if body:
        res["bodySite"] = [body]
    return res


def obs(pid: str, oid: str, code: dict[str, Any], date: str, value: Any = None,
        members: list[str] | None = None, focus: str | None = None, **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Observation", "id": oid, "status": "final", "code": code,
                           "subject": ref("Patient", pid), "effectiveDateTime": date}
    if isinstance(value, dict):
        key = "valueQuantity" if "value" in value else "valueCodeableConcept"
        res[key] = value
    elif isinstance(value, str):
        res["valueString"] = value
    if members:
        res["hasMember"] = [ref("Observation", m) for m in members]
    if focus:
        res["focus"] = [ref("Condition", focus)]
    res.update(extra)
    return res


def stage_group(pid: str, oid: str, timing: str, value: dict[str, Any], date: str,
                t: str | None = None, n: str | None = None, m: str | None = None,
                focus: str | None = None) -> list[dict[str, Any]]:
    """A TNM stage group with its T, N and M members (AJCC values such as cT2)."""
    codes = {"clinical": ("21908-9", "Stage group.clinical Cancer", "21905-5", "21906-3", "21907-1"),
             "pathological": ("21902-2", "Stage group.pathology Cancer", "21899-0", "21900-6", "21901-4")}
    group, gdisp, tc, nc, mc = codes[timing]
    out, members = [], []
    for suffix, code, val in (("t", tc, t), ("n", nc, n), ("m", mc, m)):
        if val:
            members.append(f"{oid}-{suffix}")
            out.append(obs(pid, f"{oid}-{suffix}", cc(LNC, code), date, cc(AJCC, val, val.upper()),
                           method=cc(SCT, "897275008", "American Joint Commission on Cancer, Cancer "
                                     "Staging Manual, 8th edition neoplasm staging system (tumor staging)")))
    return [obs(pid, oid, cc(LNC, group, gdisp), date, value, members=members or None, focus=focus), *out]


def marker(pid: str, oid: str, loinc: str, display: str, value: Any, date: str = "2024-01-20") -> dict[str, Any]:
    return obs(pid, oid, cc(LNC, loinc, display), date, value,
               meta={"profile": [MCODE + "mcode-tumor-marker-test"]})


POS, NEG = cc(LNC, "LA6576-8", "Positive"), cc(LNC, "LA6577-6", "Negative")
SPOS, SNEG = cc(SCT, "10828004", "Positive (qualifier value)"), cc(SCT, "260385009", "Negative (qualifier value)")
ER, PR = ("85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain"), \
    ("85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain")
HER2_IHC = ("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain")
HER2_ISH = ("85318-4", "HER2 [Presence] in Breast cancer specimen by FISH")
HER2_INTERP = ("48676-1", "HER2 [Interpretation] in Tissue")


def variant(pid: str, oid: str, gene: tuple[str, str], significance: tuple[str, str] | None,
            source: tuple[str, str] | None, present: bool = True, date: str = "2024-02-01") -> dict[str, Any]:
    comps = [{"code": cc(LNC, "48018-6", "Gene studied [ID]"), "valueCodeableConcept": cc(HGNC, *gene)}]
    if significance:
        comps.append({"code": cc(LNC, "53037-8", "Genetic variation clinical significance [Imp]"),
                      "valueCodeableConcept": cc(LNC, *significance)})
    if source:
        comps.append({"code": cc(LNC, "48002-0", "Genomic source class [Type]"),
                      "valueCodeableConcept": cc(LNC, *source)})
    return obs(pid, oid, cc(LNC, "69548-6", "Genetic variant assessment"), date,
               cc(LNC, "LA9633-4", "Present") if present else cc(LNC, "LA9634-2", "Absent"),
               component=comps, meta={"profile": [MCODE + "mcode-genomic-variant"]})


BRCA1, BRCA2, PIK3CA, ESR1 = ("HGNC:1100", "BRCA1"), ("HGNC:1101", "BRCA2"), ("HGNC:8975", "PIK3CA"), \
    ("HGNC:3467", "ESR1")
PATHOGENIC, BENIGN, VUS = ("LA6668-3", "Pathogenic"), ("LA6675-8", "Benign"), ("LA26333-7", "Uncertain significance")
GERMLINE, SOMATIC = ("LA6683-2", "Germline"), ("LA6684-0", "Somatic")


def med(kind: str, pid: str, mid: str, status: str, drug: dict[str, Any], start: str | None = None,
        end: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": kind, "id": mid, "status": status,
                           "medicationCodeableConcept": drug, "subject": ref("Patient", pid),
                           "meta": {"profile": [MCODE + "mcode-cancer-related-medication-"
                                                + ("request" if kind == "MedicationRequest" else "administration")]}}
    if kind == "MedicationRequest":
        res["intent"] = "order"
        if start:
            res["authoredOn"] = start
            res["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": {"start": start}}}}]
    elif kind == "MedicationStatement":
        if start:
            res["effectivePeriod"] = {"start": start, **({"end": end} if end else {})}
    else:
        res["effectivePeriod" if end else "effectiveDateTime"] = (
            {"start": start, "end": end} if end else (start or "2024-01-01"))
    return res


def rx(code: str, display: str) -> dict[str, Any]:
    return cc(RXN, code, display)


def surgery(pid: str, sid: str, status: str = "completed", date: str = "2024-03-01",
            code: dict[str, Any] | None = None) -> dict[str, Any]:
    res = {"resourceType": "Procedure", "id": sid, "status": status,
           "code": code or cc(SCT, "64368001", "Excision of part of breast (procedure)"),
           "subject": ref("Patient", pid), "bodySite": [cc(SCT, "80248007", "Left breast structure (body structure)")],
           "meta": {"profile": [MCODE + "mcode-cancer-related-surgical-procedure"]}}
    if status == "completed":
        res["performedDateTime"] = date
    return res


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "id": "b-" + resources[0]["id"], "type": "collection",
            "entry": [{"fullUrl": f"http://clinic.example.ca/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources]}


IDC = cc(SCT, "408643008", "Infiltrating duct carcinoma of breast (disorder)")
BREAST = cc(SCT, "254837009", "Malignant neoplasm of breast (disorder)")
HIST_IDC = cc(SCT, "82711006", "Infiltrating duct carcinoma (morphologic abnormality)")


# ---------------------------------------------------------------- test bundles

def test_bundles() -> dict[str, list[dict[str, Any]]]:
    b: dict[str, list[dict[str, Any]]] = {}
    p = "stage0"
    b["stage-0-dcis"] = [
        patient(p, birth="1979-03-02", state="Nova Scotia", given="Dana"),
        primary(p, "c1", cc(SCT, "109886000", "Intraductal carcinoma in situ of breast (disorder)")),
        marker(p, "er", *ER, POS), surgery(p, "s1")]
    p = "stage1"
    b["stage-i-lobular-her2-low"] = [
        patient(p, birth="1952-07-01", state="BC"),
        primary(p, "c1", cc(ICD10, "C50.412", "Malignant neoplasm of upper-outer quadrant of left female breast"),
                histology=cc(ICDO3, "8520/3", "Lobular carcinoma, NOS")),
        *stage_group(p, "sg", "pathological", cc(AJCC, "p1A", "IA"), "2024-02-10", "pT1c", "pN0", "cM0", focus="c1"),
        marker(p, "er", *ER, POS), marker(p, "pr", *PR, POS),
        marker(p, "her2", *HER2_IHC, {"value": 1, "unit": "{score}"}),
        surgery(p, "s1", date="2024-02-01"),
        med("MedicationStatement", p, "m1", "active", rx("84857", "anastrozole"), "2024-03-15")]
    p = "stage2"
    b["stage-ii-her2-low-ihc2-ish-negative"] = [
        patient(p, birth="1981-11-11", state="QC", lang="en"),
        primary(p, "c1", IDC, histology=HIST_IDC),
        *stage_group(p, "sg", "clinical", cc(SCT, "1222769001", "American Joint Committee on Cancer stage IIB (qualifier value)"),
                     "2024-01-20", "cT2", "cN1", "cM0", focus="c1"),
        marker(p, "er", *ER, SPOS), marker(p, "pr", *PR, SNEG),
        marker(p, "her2-ihc", *HER2_IHC, {"value": 2, "unit": "{score}"}),
        marker(p, "her2-ish", *HER2_ISH, NEG),
        surgery(p, "s1", status="preparation"),
        med("MedicationRequest", p, "m1", "active", rx("72962", "docetaxel"), "2024-02-05"),
        med("MedicationRequest", p, "m2", "active", rx("3002", "cyclophosphamide"), "2024-02-05")]
    p = "stage3"
    b["stage-iii-her2-positive"] = [
        patient(p, birth="1975-04-04", state="British Columbia"),
        primary(p, "c1", IDC, histology=HIST_IDC, summary=cc(AJCC, "3C", "IIIC")),
        *stage_group(p, "sg", "clinical", cc(AJCC, "c3C", "IIIC"), "2024-01-20", "cT2", "cN3", "cM0", focus="c1"),
        marker(p, "er", *ER, NEG), marker(p, "pr", *PR, NEG), marker(p, "her2", *HER2_INTERP, POS),
        med("MedicationAdministration", p, "m1", "in-progress", rx("224905", "trastuzumab"), "2024-02-10"),
        med("MedicationAdministration", p, "m2", "in-progress", rx("1298944", "pertuzumab"), "2024-02-10"),
        med("MedicationAdministration", p, "m3", "in-progress", rx("72962", "docetaxel"), "2024-02-10")]
    p = "stage4"
    b["stage-iv-bone-liver"] = [
        patient(p, birth="1968-09-09", state="AB"),
        primary(p, "c1", IDC, histology=HIST_IDC, onset="2019-02-01", summary=cc(AJCC, "2A", "IIA")),
        *stage_group(p, "sg", "clinical", cc(AJCC, "c2A", "IIA"), "2019-02-01", "cT2", "cN0", "cM0", focus="c1"),
        secondary(p, "met-bone", cc(SCT, "94222008", "Secondary malignant neoplasm of bone (disorder)"), "2024-05-02"),
        secondary(p, "met-liver", cc(SCT, "128462008", "Secondary malignant neoplastic disease (disorder)"), "2024-05-02",
                  body=cc(SCT, "10200004", "Liver structure (body structure)")),
        obs(p, "m1", cc(LNC, "21907-1", "Distant metastases.clinical [Class] Cancer"), "2024-05-02", cc(AJCC, "cM1", "M1")),
        marker(p, "er", *ER, POS), marker(p, "pr", *PR, POS), marker(p, "her2", *HER2_IHC, SNEG),
        variant(p, "brca", BRCA1, BENIGN, GERMLINE, present=False),
        variant(p, "pik3ca", PIK3CA, PATHOGENIC, SOMATIC),
        surgery(p, "s1", date="2019-03-01"),
        med("MedicationStatement", p, "m-tam", "completed", rx("10324", "tamoxifen"), "2019-05-01", "2024-04-30"),
        med("MedicationStatement", p, "m-let", "active", rx("72965", "letrozole"), "2024-06-01"),
        med("MedicationStatement", p, "m-rib", "active", rx("1873916", "ribociclib"), "2024-06-01")]
    p = "messy"
    dup = marker(p, "er", "", "", "ER+ (90%)")
    dup["code"] = cc(text="ER status")
    bad = marker(p, "bad", *PR, POS)
    bad["effectiveDateTime"] = "yesterday"
    her2 = marker(p, "her2", *HER2_INTERP, {"coding": [{"system": LNC, "code": "LA0000-0"}], "text": "HER2 negative"})
    b["messy"] = [
        patient(p, birth="1950-01-01", state="NY", country="US", lang="fr-CA"),
        primary(p, "c1", cc(text="Invasive ductal carcinoma, left breast")),
        dup, dict(dup), bad, her2,
        marker(p, "serum", "42914-2", "HER2 Ag [Mass/volume] in Serum", {"value": 22.0, "unit": "ng/mL"}),
        obs(p, "stage", cc(text="Stage group"), "2024-01-01", "Stage IIA"),
        med("MedicationStatement", p, "m1", "completed",
            rx("1790099", "doxorubicin hydrochloride 20 MG per 10 ML Injection"), "2023-01-01", "2023-03-01"),
        med("MedicationStatement", p, "m2", "active", rx("29046", "lisinopril")),
        surgery(p, "s1", code=cc(text="Left lumpectomy"), date="2023-04-01")]
    b["messy"][1]["stage"] = [{"summary": cc(text="Stage IIA")}]
    p = "lung"
    b["non-breast-primary"] = [
        patient(p, gender="male", birth="1955-01-20"),
        primary(p, "c1", cc(SCT, "254637007", "Non-small cell lung cancer (disorder)"),
                histology=cc(SCT, "35917007", "Adenocarcinoma"), summary=cc(AJCC, "3C", "IIIC"))]
    p = "conflict"
    b["conflicting-stage-groups"] = [
        patient(p, birth="1970-06-06"),
        primary(p, "c1", IDC, histology=HIST_IDC, summary=cc(SCT, "258219007", "Stage 2 (qualifier value)"),
                onset="2024-01-05"),
        primary(p, "c2", cc(SCT, "408643008", "Infiltrating duct carcinoma of breast (disorder)"), onset="2023-01-05"),
        primary(p, "c3", cc(SCT, "363406005", "Malignant tumor of colon (disorder)"), onset="2015-01-01",
                status="remission"),
        *stage_group(p, "sg-c", "clinical", cc(AJCC, "c2A", "IIA"), "2024-01-10", "cT2", "cN0", "cM0", focus="c1"),
        *stage_group(p, "sg-p", "pathological", cc(AJCC, "p3A", "IIIA"), "2024-02-20", "pT2", "pN2a", "cM0", focus="c1"),
        marker(p, "er", *ER, POS, date="2024-01-10"), marker(p, "er2", *ER, NEG, date="2024-02-20"),
        marker(p, "her2", *HER2_IHC, {"value": 3, "unit": "{score}"})]
    p = "eic"
    b["idc-with-dcis-component"] = [
        patient(p, birth="1985-02-02", state="MB"),
        primary(p, "c1", IDC, histology=HIST_IDC, summary=cc(AJCC, "1A", "IA")),
        primary(p, "c2", cc(SCT, "109886000", "Intraductal carcinoma in situ of breast (disorder)")),
        obs(p, "eic", cc(LNC, "85336-6", "DCIS intraductal extension in Breast cancer specimen Qualitative by Light microscopy"),
            "2024-02-01", cc(LNC, "LA27261-9", "DCIS present with extensive intraductal component (EIC)")),
        marker(p, "er", *ER, NEG), marker(p, "pr", *PR, NEG),
        marker(p, "her2", *HER2_IHC, cc(text="0, faint incomplete staining (HER2-ultralow)")),
        variant(p, "brca", BRCA2, PATHOGENIC, GERMLINE)]
    p = "gnrh"
    b["gnrh-against-age-hint"] = [
        patient(p, birth="1962-08-08", state="SK"),
        primary(p, "c1", IDC, summary=cc(AJCC, "2B", "IIB")),
        marker(p, "er", *ER, POS), marker(p, "her2", *HER2_IHC, SNEG),
        surgery(p, "s1", date="2024-03-01"),
        med("MedicationStatement", p, "m1", "active", rx("50610", "goserelin"), "2024-04-01"),
        med("MedicationStatement", p, "m2", "active", rx("10324", "tamoxifen"), "2024-04-01"),
        med("MedicationStatement", p, "m3", "intended", rx("1597582", "olaparib"))]
    return b


def write_bundles(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, resources in test_bundles().items():
        (folder / f"{stem}.json").write_text(json.dumps(bundle(resources), indent=1) + "\n")


# ---------------------------------------------------------------- bulk export

def random_patient(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """One patient of a synthetic clinic: a breast primary with stage, markers, treatment."""
    p = f"p{n:05d}"
    stage = rng.choices(["0", "1", "2", "3", "4"], [5, 30, 35, 15, 15])[0]
    res = [patient(p, gender=rng.choices(["female", "male"], [99, 1])[0],
                   birth=f"{rng.randint(1940, 1995)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   state=rng.choice(["ON", "QC", "BC", "AB", "MB", "SK", "NS", "NB", "NL", "PE"]),
                   given="Synth", family=f"Person{n}")]
    onset = f"{rng.randint(2018, 2025)}-{rng.randint(1, 12):02d}-15"
    if stage == "0":
        res.append(primary(p, "c1", cc(SCT, "109886000", "Intraductal carcinoma in situ of breast (disorder)"),
                           onset=onset))
        res.append(marker(p, "er", *ER, rng.choice([POS, NEG]), date=onset))
        return res
    hist = rng.choice([HIST_IDC, cc(ICDO3, "8520/3", "Lobular carcinoma, NOS"),
                       cc(ICDO3, "8480/3", "Mucinous adenocarcinoma")])
    res.append(primary(p, "c1", BREAST, histology=hist, onset=onset))
    letter = rng.choice("AB") if stage in "12" else rng.choice("ABC") if stage == "3" else ""
    res += stage_group(p, "sg", rng.choice(["clinical", "pathological"]), cc(AJCC, f"{stage}{letter}"), onset,
                       "cT2", "cN1" if stage != "1" else "cN0", "cM1" if stage == "4" else "cM0", focus="c1")
    er = rng.random() < 0.8
    her2 = rng.choices(["0", "1", "2-", "3"], [35, 30, 15, 20])[0]
    res += [marker(p, "er", *ER, POS if er else NEG, date=onset),
            marker(p, "pr", *PR, POS if er and rng.random() < 0.8 else NEG, date=onset),
            marker(p, "her2", *HER2_IHC, {"value": int(her2[0]), "unit": "{score}"}, date=onset)]
    if her2 == "2-":
        res.append(marker(p, "ish", *HER2_ISH, NEG, date=onset))
    if stage == "4":
        res.append(secondary(p, "met", cc(SCT, rng.choice(["94222008", "94381002", "94391008"])), onset))
    if stage in "123" and rng.random() < 0.6:
        res.append(surgery(p, "s1", date=onset[:8] + "28"))
    if er:
        drug = rng.choice([rx("10324", "tamoxifen"), rx("72965", "letrozole"), rx("84857", "anastrozole")])
        res.append(med("MedicationStatement", p, "m1", "active", drug, onset[:8] + "28"))
    elif her2 == "3":
        res.append(med("MedicationRequest", p, "m1", "active", rx("224905", "trastuzumab"), onset[:8] + "28"))
    return res


def write_export(folder: Path, count: int, seed: int = 7, broken: int = 0, other: int = 0) -> None:
    """`count` patients, the last `broken` of them broken, plus `other` non-breast patients."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    try:
        for n in range(1, count + other + 1):
            res = random_patient(rng, n)
            if n > count:  # a lung-cancer patient: skipped, not a failure
                res = [res[0], primary(res[0]["id"], "c1", cc(SCT, "254637007", "Non-small cell lung cancer (disorder)"))]
            elif n > count - broken:
                if (count - n) % 2 == 0:  # the breast primary cannot be read: not valid FHIR
                    for r in res:
                        if r["resourceType"] == "Condition":
                            r["onsetDateTime"] = "2024-13-45"
                else:  # DCIS with a stage III group: the profile is contradictory
                    for r in res:
                        if r.get("id") == "c1":
                            r["code"] = cc(SCT, "109886000", "Intraductal carcinoma in situ of breast (disorder)")
                            r.pop("extension", None)
                    res += stage_group(res[0]["id"], "sg3", "clinical", cc(AJCC, "3A"), "2025-01-01")
            for r in res:
                kind = r["resourceType"]
                if kind not in files:
                    files[kind] = (folder / f"{kind}.ndjson").open("w")
                files[kind].write(json.dumps(r, separators=(",", ":")) + "\n")
    finally:
        for f in files.values():
            f.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("bundles")
    one.add_argument("folder", type=Path)
    exp = sub.add_parser("export")
    exp.add_argument("folder", type=Path)
    exp.add_argument("-n", type=int, default=1000)
    exp.add_argument("--broken", type=int, default=0)
    exp.add_argument("--other", type=int, default=0)
    exp.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.what == "bundles":
        write_bundles(args.folder)
    else:
        write_export(args.folder, args.n, args.seed, args.broken, args.other)


if __name__ == "__main__":
    main()
