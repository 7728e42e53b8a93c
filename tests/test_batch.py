"""Batches: every bad row reported, every good row rendered, nothing partial."""

from __future__ import annotations

import csv
import json
import os

import pytest
from typer.testing import CliRunner

from booklet.cli import app

runner = CliRunner()
HEADER = "id,name,stage,type,er,pr,her2,menopause,sex,metastases,biomarkers.brca,care_team.phone,prior_therapies\n"
GOOD1 = "p1,Alexandra Quimby,IV,idc,positive,positive,positive,post,female,bone;liver,negative,555-0100,trastuzumab;pertuzumab\n"
GOOD2 = "p2,,IV,ilc,negative,negative,positive,,male,brain,,,\n"
BAD1 = "p3,,IV,idc,positive,,maybe,,,,,,\n"
BAD2 = "p4,,IV,idc,positive,positive,positive,post,robot,,,,\n"


def batch(*args):
    return runner.invoke(app, ["batch", *map(str, args), "--date", "2026-12-04"])


def write(tmp_path, text, name="day.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def errors(out):
    with open(out / "errors.csv") as f:
        return list(csv.DictReader(f))


def test_bad_rows_are_reported_and_good_rows_rendered(tmp_path):
    src = write(tmp_path, HEADER + GOOD1 + BAD1 + GOOD2 + BAD2)
    out = tmp_path / "out"
    result = batch(src, "--out-dir", out, "--format", "html", "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.glob("*.html")) == ["p1.html", "p2.html"]
    rows = errors(out)
    assert [(r["row"], r["id"], r["field"]) for r in rows] == [("row 3", "p3", "her2"), ("row 5", "p4", "sex")]
    assert "2 rendered, 0 skipped, 2 failed" in result.stdout
    html = (out / "p1.html").read_text()
    assert "Made for Alexandra Quimby" in html and "555-0100" in html
    assert "Alexandra" not in (out / "errors.csv").read_text() + result.output


def test_all_good_exits_zero_and_names_hold_no_patient_data(tmp_path):
    src = write(tmp_path, "name,stage,er,her2\nZed Q,IV,positive,positive\nYves R,4,negative,positive\n")
    out = tmp_path / "out"
    result = batch(src, "--out-dir", out, "--format", "html", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["2.html", "3.html", "errors.csv"]


def test_rerun_skips_existing_outputs_and_keeps_errors_for_real_errors(tmp_path):
    src = write(tmp_path, HEADER + GOOD2.replace(",positive,,male", ",2+,,male") + BAD1)
    out = tmp_path / "out"
    first = batch(src, "--out-dir", out, "--format", "html", "--jobs", "1")
    assert first.exit_code == 1 and [r["id"] for r in errors(out)] == ["p3"]
    assert "row 2 (p2): note: her2: '2+' is read as unknown" in first.stderr
    before = (out / "p2.html").stat().st_mtime_ns
    again = batch(src, "--out-dir", out, "--format", "html", "--jobs", "1")
    assert again.exit_code == 1  # p3 is still bad; p2 is not a failure
    assert "0 rendered, 1 skipped (exists; --force to redo), 1 failed" in again.stdout
    assert "note:" not in again.stderr  # said once, when it was rendered
    assert [r["id"] for r in errors(out)] == ["p3"]
    assert (out / "p2.html").stat().st_mtime_ns == before
    good = write(tmp_path, HEADER + GOOD2, "good.csv")
    clean = batch(good, "--out-dir", out, "--format", "html", "--jobs", "1")
    assert clean.exit_code == 0, clean.output
    assert "0 rendered, 1 skipped (exists; --force to redo), 0 failed" in clean.stdout
    assert errors(out) == []  # the last run's real errors: none
    os.utime(good, ns=(before - 10**9, before - 10**9))  # the input is older than p2.html
    resumed = batch(good, "--out-dir", out, "--format", "html", "--resume", "--jobs", "1")
    assert resumed.exit_code == 0 and "0 rendered, 1 skipped (up to date)" in resumed.stdout
    forced = batch(good, "--out-dir", out, "--format", "html", "--force", "--jobs", "1")
    assert forced.exit_code == 0 and "1 rendered, 0 skipped" in forced.stdout


def test_shard_takes_every_nth_row(tmp_path):
    rows = "".join(f"s{i},,IV,idc,negative,negative,positive,,,,,,\n" for i in range(1, 7))
    src = write(tmp_path, HEADER + rows)
    out = tmp_path / "out"
    result = batch(src, "--out-dir", out, "--format", "html", "--shard", "2/3", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in out.glob("*.html")) == ["s2", "s5"]
    assert (out / "errors-2-of-3.csv").exists() and not (out / "errors.csv").exists()


SHARD_ENVS = {
    "kubernetes": lambda k, n: {"JOB_COMPLETION_INDEX": str(k)},
    "slurm": lambda k, n: {"SLURM_ARRAY_TASK_ID": str(10 + k), "SLURM_ARRAY_TASK_MIN": "10",
                           "SLURM_ARRAY_TASK_MAX": str(10 + n - 1), "SLURM_ARRAY_TASK_COUNT": str(n)},
}


@pytest.mark.parametrize("engine", sorted(SHARD_ENVS))
def test_shard_auto_three_tasks_make_every_booklet_exactly_once(tmp_path, monkeypatch, engine):
    rows = "".join(f"s{i},,IV,idc,negative,negative,positive,,,,,,\n" for i in range(1, 11))
    src = write(tmp_path, HEADER + rows)
    out = tmp_path / "out"
    made: list[str] = []
    for k in range(3):
        for var in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
                    "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"):
            monkeypatch.delenv(var, raising=False)
        for var, value in SHARD_ENVS[engine](k, 3).items():
            monkeypatch.setenv(var, value)
        shard = "auto/3" if engine == "kubernetes" else "auto"
        before = set(p.stem for p in out.glob("*.html")) if out.exists() else set()
        result = batch(src, "--out-dir", out, "--format", "html", "--shard", shard, "--jobs", "1")
        assert result.exit_code == 0, result.output
        assert f"batch: shard {k + 1} of 3 (" in result.stderr
        made += sorted(set(p.stem for p in out.glob("*.html")) - before)
        assert (out / f"errors-{k + 1}-of-3.csv").exists()
    assert sorted(made) == sorted(f"s{i}" for i in range(1, 11))  # each once, none missing


@pytest.mark.parametrize("env, shard, message", [
    ({}, "auto", "no job index found: it reads JOB_COMPLETION_INDEX (Kubernetes Indexed Job) "
                 "or SLURM_ARRAY_TASK_ID (Slurm job array); elsewhere give K/N"),
    ({"JOB_COMPLETION_INDEX": "0"}, "auto", "in a Kubernetes Indexed Job, give the number of "
                                            "shards too: --shard auto/N"),
    ({"JOB_COMPLETION_INDEX": "5"}, "auto/3", "JOB_COMPLETION_INDEX 5 is not below 3"),
    ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3"},
     "auto", "task 4 is not one of 3 evenly spaced tasks"),
])
def test_shard_auto_explains_what_it_needs(tmp_path, monkeypatch, env, shard, message):
    for var in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN",
                "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    src = write(tmp_path, HEADER + GOOD2)
    result = batch(src, "--out-dir", tmp_path / "out", "--shard", shard)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "out").exists()


def test_jsonl_and_folder_inputs(tmp_path):
    src = write(tmp_path, json.dumps({"id": "j1", "stage": "IV", "her2": "positive", "er": "positive"})
                + "\n{not json\n", "day.jsonl")
    out = tmp_path / "o1"
    result = batch(src, "--out-dir", out, "--format", "html", "--jobs", "1")
    assert result.exit_code == 1
    assert (out / "j1.html").exists() and errors(out)[0]["row"] == "line 2"
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "a.yaml").write_text("stage: IV\nher2: positive\n")
    (folder / "b.json").write_text('{"stage": "IV", "her2": "sometimes"}')
    out2 = tmp_path / "o2"
    result = batch(folder, "--out-dir", out2, "--format", "html", "--jobs", "1")
    assert result.exit_code == 1 and (out2 / "a.html").exists()
    assert errors(out2)[0]["row"] == "file b.json"


@pytest.mark.parametrize("content, name, message", [
    ("", "empty.csv", "empty"),
    ("stage,stage\nIV,IV\n", "dup.csv", "duplicate"),
    ("stage: IV", "notes.txt", "use a .csv or .jsonl"),
])
def test_unusable_input_exits_2(tmp_path, content, name, message):
    src = write(tmp_path, content, name)
    result = batch(src, "--out-dir", tmp_path / "out")
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_name_template_refuses_patient_fields(tmp_path):
    src = write(tmp_path, HEADER + GOOD2)
    result = batch(src, "--out-dir", tmp_path / "out", "--name", "{name}.pdf")
    assert result.exit_code == 2 and "no patient names" in result.output


@pytest.mark.render
def test_worker_processes_render_pdfs(tmp_path):
    src = write(tmp_path, HEADER + GOOD1 + GOOD2)
    out = tmp_path / "out"
    result = batch(src, "--out-dir", out, "--jobs", "2")
    assert result.exit_code == 0, result.output
    for name in ("p1.pdf", "p2.pdf"):
        data = (out / name).read_bytes()
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert not list(out.glob("*.part")) and not list(out.glob(".booklet-*"))


@pytest.mark.render
def test_batch_bytes_are_the_same_run_after_run_whatever_jobs(tmp_path):
    """Two runs, in fresh processes, --jobs 1 then --jobs 2: every file byte for byte the same.
    SOURCE_DATE_EPOCH is unset, as on a clinic's machine (the fonts once carried the time)."""
    import subprocess
    import sys

    src = write(tmp_path, HEADER + GOOD1 + GOOD2)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        subprocess.run([sys.executable, "-m", "booklet", "batch", str(src), "--out-dir", str(out),
                        "--date", "2026-12-04", "--jobs", jobs], env=env, check=True,
                       capture_output=True)
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == sorted(p.name for p in outs[1].iterdir()) and "p1.pdf" in names
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
