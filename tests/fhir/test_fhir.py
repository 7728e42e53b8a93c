"""FHIR mCODE records in: the mapping, the notes, from-fhir, render and batch.

The bundles in bundles/ and the export in export-20/ are synthetic (scripts/fhir_synth.py
writes them: `python scripts/fhir_synth.py bundles tests/fhir/bundles`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from booklet.cli import app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUNDLES = HERE / "bundles"
EXPORT = HERE / "export-20"
DAY = dt.date(2026, 11, 26)
runner = CliRunner()
sys.path.insert(0, str(ROOT / "scripts"))


def derived(stem: str):
    from booklet.content import cached_library
    from booklet.fhir import from_fhir

    return from_fhir(BUNDLES / f"{stem}.json", DAY, cached_library().drug_names)


def notes(d) -> str:
    return "\n".join(str(n) for n in d.notes)


def warned(d) -> str:
    return "\n".join(str(n) for n in d.warnings)


def test_the_bundles_on_disk_are_the_ones_the_script_writes(tmp_path):
    from fhir_synth import write_bundles

    write_bundles(tmp_path)
    for path in sorted(tmp_path.glob("*.json")):
        assert (BUNDLES / path.name).read_text() == path.read_text(), path.name
    assert len(list(BUNDLES.glob("*.json"))) >= 8


@pytest.mark.parametrize("stem, expected", [
    ("stage-0-dcis", {"stage": "0", "type": "dcis", "er": "positive", "province": "NS",
                      "phase": "after-surgery"}),
    ("stage-i-lobular-her2-low", {"stage": "I", "type": "ilc", "er": "positive", "pr": "positive",
                                  "her2": "low", "current_therapies": ["anastrozole"],
                                  "phase": "after-surgery", "menopause": "post", "province": "BC"}),
    ("stage-ii-her2-low-ihc2-ish-negative", {"stage": "II", "type": "idc", "er": "positive",
                                             "pr": "negative", "her2": "low", "phase": "before-surgery",
                                             "current_therapies": ["docetaxel", "cyclophosphamide"],
                                             "start_date": "2024-02-05", "province": "QC"}),
    ("stage-iii-her2-positive", {"stage": "III", "type": "idc", "er": "negative", "pr": "negative",
                                 "her2": "positive",
                                 "current_therapies": ["trastuzumab", "pertuzumab", "docetaxel"]}),
    ("stage-iv-bone-liver", {"stage": "IV", "metastases": ["bone", "liver"], "her2": "negative",
                             "current_therapies": ["letrozole", "ribociclib"],
                             "prior_therapies": [{"drug": "tamoxifen", "setting": "after-surgery"}]}),
])
def test_each_stage(stem, expected):
    d = derived(stem)
    for key, value in expected.items():
        assert d.data.get(key) == value, (key, d.data.get(key), notes(d))
    assert "phase" not in d.data or d.data["stage"] != "IV"


def test_stage_iv_overrides_the_stage_group_and_says_so():
    d = derived("stage-iv-bone-liver")
    assert d.data["biomarkers"] == {"brca": "negative", "pik3ca": "positive"}
    assert "whatever the stage group says (Observation/sg says II" in warned(d)
    assert "SNOMED 10200004" in " ".join(d.sources["metastases"])  # the generic code's bodySite


def test_her2_low_is_ihc_2_plus_with_a_negative_ish_test():
    d = derived("stage-ii-her2-low-ihc2-ish-negative")
    assert "IHC 2+ with a negative ISH test is HER2-low" in d.sources["her2"][0]
    assert d.warnings == []


def test_messy_record_text_only_values_duplicates_us_address_invalid_resource():
    d = derived("messy")
    w = warned(d)
    assert d.data["type"] == "idc" and d.data["stage"] == "II" and d.data["er"] == "positive"
    assert d.data["her2"] == "negative" and "province" not in d.data
    assert "pr" not in d.data  # the PR result failed validation: not guessed
    assert "Observation/bad in Bundle.entry[5] is not valid FHIR R4 and was skipped" in w
    assert "read from its text as breast cancer" in w
    assert "address is in 'US' (state 'NY'), not in Canada: province left out" in w
    assert "the result read from text 'HER2 negative'" in w
    assert "blood (serum) test" in w
    assert "RxNorm 1790099" in w and "read from its name as doxorubicin" in w
    assert "RxNorm 29046 (lisinopril)): an unmapped code" in w
    assert d.data["language"] == "fr"  # communication.language fr-CA: a French booklet
    assert "Observation/er is given twice; the copies are the same" in notes(d)
    assert d.data["prior_therapies"] == [{"drug": "doxorubicin", "setting": "before-surgery"}]
    assert d.data["menopause"] == "post" and "hint from age 76" in w


def test_no_breast_cancer_is_an_input_error():
    from booklet.fhir import NoBreastCancer

    with pytest.raises(NoBreastCancer, match="not breast cancer: Condition/c1 .*254637007"):
        derived("non-breast-primary")
    result = runner.invoke(app, ["render", str(BUNDLES / "non-breast-primary.json"), "-o", "x.html",
                                 "--format", "html"])
    assert result.exit_code == 2 and "no breast cancer in the record" in result.stderr


def test_conflicting_stage_groups_more_than_one_primary_and_a_non_breast_primary():
    d = derived("conflicting-stage-groups")
    w = warned(d)
    assert d.data["stage"] == "III" and d.sources["stage"][0].startswith("Observation/sg-p (pathological")
    assert "Observation/sg-c (clinical, 2024-01-10) says II" in w
    assert "stage.summary says II" in w and "with its T, N and M says III, which is used" in w
    assert "more than one breast primary: Condition/c1" in w and "uses Condition/c1" in w
    assert "Condition/c3 is a primary cancer that is not breast cancer" in w
    assert d.data["er"] == "negative" and "an older result" in w


def test_summary_against_a_group_without_t_n_m_leaves_the_stage_unknown(tmp_path):
    from booklet.content import cached_library
    from booklet.fhir import from_fhir

    data = json.loads((BUNDLES / "stage-iii-her2-positive.json").read_text())
    data["entry"] = [e for e in data["entry"] if not e["resource"]["id"].startswith("sg-")]
    group = next(e["resource"] for e in data["entry"] if e["resource"]["id"] == "sg")
    group.pop("hasMember")
    next(e["resource"] for e in data["entry"] if e["resource"]["id"] == "c1")["stage"][0]["summary"] = \
        {"coding": [{"system": "http://snomed.info/sct", "code": "258219007"}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    d = from_fhir(path, DAY, cached_library().drug_names)
    assert d.data["stage"] == "unknown" and "no T, N, M to settle it" in warned(d)


def test_dcis_with_an_invasive_cancer_is_not_a_dcis_diagnosis():
    d = derived("idc-with-dcis-component")
    assert d.data["type"] == "idc" and d.data["stage"] == "I"
    assert "not a DCIS diagnosis" in notes(d)
    assert d.data["her2"] == "ultralow"  # IHC 0 with faint staining, written as such
    assert d.data["biomarkers"]["brca"] == "positive"


def test_gnrh_agonist_against_a_post_menopausal_age_hint():
    d = derived("gnrh-against-age-hint")
    assert "menopause" not in d.data or d.data["menopause"] == "unknown"
    assert "age 64" in warned(d) and "goserelin (ovarian suppression)" in warned(d)


def test_from_fhir_prints_what_render_would_refuse():
    result = runner.invoke(app, ["profile", "from-fhir", str(BUNDLES / "gnrh-against-age-hint.json"),
                                 "--date", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert "# `booklet render` refuses this profile as it stands" in result.stdout
    assert "'olaparib' does not fit this profile" in result.stdout
    assert "current_therapies:\n- goserelin\n- tamoxifen\n- olaparib" in result.stdout
    assert "render would refuse it:" in result.stderr


@pytest.mark.parametrize("stem", [p.stem for p in sorted(BUNDLES.glob("*.json"))
                                  if p.stem not in ("non-breast-primary",)])
def test_from_fhir_yaml_reads_back_as_the_same_profile(stem, tmp_path):
    from booklet.content import cached_library
    from booklet.errors import ProfileError
    from booklet.fhir import from_fhir
    from booklet.fhir.yamlout import to_yaml
    from booklet.profile import normalise, parse_text

    lib = cached_library()
    d = from_fhir(BUNDLES / f"{stem}.json", DAY, lib.drug_names)
    text = to_yaml(d, f"{stem}.json", DAY, [])
    back = parse_text(text, "p.yaml")
    try:
        want = normalise(d.data, lib.drug_names).to_dict(with_name=True)
    except ProfileError:
        return
    got = normalise(back, lib.drug_names).to_dict(with_name=True)
    want.pop("readings"), got.pop("readings")
    assert got == want
    for line in text.splitlines():
        assert len(line) <= 110 or not line.startswith("#"), line


@pytest.mark.parametrize("stem", ["stage-iv-bone-liver", "messy"])
def test_render_of_the_bundle_and_of_its_from_fhir_yaml_are_the_same(stem, tmp_path):
    bundle = BUNDLES / f"{stem}.json"
    yaml_out = tmp_path / "p.yaml"
    made = runner.invoke(app, ["profile", "from-fhir", str(bundle), "-o", str(yaml_out), "--date", "2026-11-26"])
    assert made.exit_code == 0, made.output
    for src, out in ((bundle, tmp_path / "a.html"), (yaml_out, tmp_path / "b.html")):
        r = runner.invoke(app, ["render", str(src), "-o", str(out), "--format", "html", "--date", "2026-11-26"])
        assert r.exit_code == 0, r.output
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


@pytest.mark.render
def test_render_pdf_of_the_bundle_and_of_its_from_fhir_yaml_are_the_same_bytes(tmp_path):
    bundle = ROOT / "examples" / "fhir" / "stage-ii-her2-low-before-surgery.json"
    yaml_out = tmp_path / "p.yaml"
    assert runner.invoke(app, ["profile", "from-fhir", str(bundle), "-o", str(yaml_out),
                               "--date", "2026-11-26"]).exit_code == 0
    for src, out in ((bundle, tmp_path / "a.pdf"), (yaml_out, tmp_path / "b.pdf")):
        r = runner.invoke(app, ["render", str(src), "-o", str(out), "--date", "2026-11-26"])
        assert r.exit_code == 0, r.output
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_explain_lists_the_notes_from_the_record():
    result = runner.invoke(app, ["explain", str(BUNDLES / "conflicting-stage-groups.json")])
    assert result.exit_code == 0, result.output
    assert "From the FHIR record:" in result.stdout
    assert "more than one breast primary" in result.stdout and "[check this]" in result.stdout


def test_bulk_export_of_20_patients_with_2_broken(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(EXPORT), "--out-dir", str(out), "--format", "html",
                                 "--jobs", "1", "--date", "2026-11-26"])
    assert result.exit_code == 1, result.output
    assert "a FHIR Bulk Data export (5 .ndjson files" in result.stderr
    assert "18 rendered, 1 skipped (no breast cancer in the record), 2 failed" in result.stdout
    made = sorted(p.name for p in out.glob("*.html"))
    assert len(made) == 18 and all(name.startswith("p000") for name in made)
    with open(out / "errors.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["id"] for r in rows} == {"p00019", "p00020"}
    assert any("conflicts with type: dcis" in r["message"] for r in rows)
    assert any("onsetDateTime" in r["message"] for r in rows)
    text = (out / "errors.csv").read_text() + result.output
    assert "Person1" not in text and "Synth " not in text  # no names in messages
    assert not list(tmp_path.glob("booklet-fhir-*"))  # the on-disk index is gone


def test_a_folder_of_bundles_is_told_by_its_content(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for stem in ("stage-0-dcis", "stage-iii-her2-positive", "non-breast-primary"):
        (folder / f"{stem}.json").write_text((BUNDLES / f"{stem}.json").read_text())
    result = runner.invoke(app, ["validate", str(folder)])
    assert "a folder of FHIR Bundles (3 .json files)" in result.stderr
    assert "3 rows: 2 ok, 0 with problems, 1 passed over" in result.stdout


def test_codes_read_by_atc_and_name():
    from booklet.content import cached_library
    from booklet.fhir import codes as C
    from booklet.fhir.derive import _drugs_of, _name_lookup

    table = C.table("medications")
    lookup = _name_lookup(cached_library().drug_names, table)
    atc = {"coding": [{"system": "http://www.whocc.no/atc", "code": "L01CD01", "display": "paclitaxel"}],
           "text": "Abraxane (paclitaxel protein-bound)"}
    assert _drugs_of(atc, table, lookup)[0] == ["nab-paclitaxel"]
    phesgo = {"text": "pertuzumab, trastuzumab, and hyaluronidase"}
    drugs, how, flagged = _drugs_of(phesgo, table, lookup)
    assert sorted(drugs) == ["pertuzumab", "trastuzumab"] and flagged
    tdm1 = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "999",
                        "display": "ado-trastuzumab emtansine 100 MG Injection"}]}
    assert _drugs_of(tdm1, table, lookup)[0] == ["trastuzumab-emtansine"]
    # every drug id in the table is one the content knows
    assert set(table["drugs"]) <= set(cached_library().drug_names)
    assert set(table["names"].values()) <= set(cached_library().drug_names)


@pytest.mark.parametrize("results, want, note", [
    ([("ihc", "2+")], "unknown", "no ISH result"),
    ([("ihc", "2+"), ("ish", "positive")], "positive", ""),
    ([("ihc", "0")], "negative", ""),
    ([("ihc", "3+"), ("interpretation", "negative")], "unknown", "conflict"),
    ([("ish", "negative")], "negative", "IHC score of 1+ or 2+ would make it HER2-low"),
    ([("interpretation", "equivocal")], "unknown", "equivocal"),
])
def test_her2_rules(results, want, note):
    from booklet.fhir.derive import Derived, Result, _her2

    out = Derived("Patient/x")
    _her2([Result("her2", m, v, "2024-01-01", f"Observation/{m}") for m, v in results], out)
    assert out.data["her2"] == want
    assert note in notes(out)


def test_the_example_bundles_render_as_profiles():
    from booklet.build import load_profile

    for path in sorted((ROOT / "examples" / "fhir").glob("*.json")):
        prof = load_profile(str(path), as_of=DAY)
        assert prof.stage in ("II", "IV"), path


def test_the_readme_documents_every_code_in_the_tables():
    from booklet.fhir import codes as C

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## From the clinic's record"):readme.index("## Privacy")]
    found = []
    t = C.table("conditions")
    found += [*t["snomed"], *t["icd10"], *t["histology"]["snomed"], *t["histology"]["icdo3"],
              *t["body_site"]["snomed"]]
    s = C.table("staging")
    for part in ("group", "distant_metastases"):
        found += [*s[part]["loinc"], *s[part]["snomed"]]
    found += [*s["stage_values"]["snomed"], *s["m_values"]["snomed"]]
    m = C.table("markers")
    found += [*m["loinc"], *(c for fam in m["answers"].values() for c in fam)]
    g = C.table("genomics")
    found += [*g["genes"]["hgnc"], *g["significance"]["loinc"], *g["source_class"]["loinc"]]
    found += [c for row in C.table("medications")["drugs"].values() for k in ("rxnorm", "atc")
              for c in row.get(k, [])]
    p = C.table("procedures")
    found += [*p["breast_surgery"]["snomed"], *p["breast_surgery"]["cpt"], *p["radiotherapy"]["snomed"]]
    missing = [code for code in found if f"`{code}`" not in section]
    assert not missing, missing


def test_an_unmapped_histology_code_is_flagged_not_used(tmp_path):
    from booklet.content import cached_library
    from booklet.fhir import from_fhir

    data = json.loads((BUNDLES / "stage-iii-her2-positive.json").read_text())
    cond = next(e["resource"] for e in data["entry"] if e["resource"]["id"] == "c1")
    cond["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "254837009"}]}
    cond["extension"][0]["valueCodeableConcept"] = {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    d = from_fhir(path, DAY, cached_library().drug_names)
    assert d.data["type"] == "unknown" and "SNOMED 1 (not in the code table): an unmapped code" in warned(d)


def test_a_resource_that_is_not_a_bundle_and_a_bundle_of_two_patients_are_refused(tmp_path):
    one = json.loads((BUNDLES / "stage-0-dcis.json").read_text())
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps(one["entry"][0]["resource"]))
    r = runner.invoke(app, ["profile", "from-fhir", str(patient)])
    assert r.exit_code == 2 and "a FHIR Patient resource, not a Bundle" in r.stderr
    two = json.loads((BUNDLES / "stage-iii-her2-positive.json").read_text())
    one["entry"] += two["entry"]
    both = tmp_path / "both.json"
    both.write_text(json.dumps(one))
    r = runner.invoke(app, ["render", str(both), "-o", str(tmp_path / "x.html"), "--format", "html"])
    assert r.exit_code == 2 and "the Bundle holds 2 patients" in r.stderr
    assert "Testperson" not in r.output
