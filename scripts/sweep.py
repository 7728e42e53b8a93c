"""Render sweep outside the default suite: every stage x type x sub-type once, plus every
bundled example in every mode, each checked with the PDF/UA-1 validator.

Run: .venv/bin/python scripts/sweep.py [--jobs 2] [--out DIR]
Prints one line per failure and a summary; exit 1 if anything failed.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

STAGES = ["0", "I", "II", "III", "IV", "unknown"]
TYPES = ["idc", "ilc", "dcis", "ibc", "rare", "unknown"]
HR = [("positive", "positive"), ("negative", "negative"), ("unknown", "unknown")]
HER2 = ["positive", "low", "negative", "unknown"]


def combos():
    for n, (stage, ctype, (er, pr), her2) in enumerate(itertools.product(STAGES, TYPES, HR, HER2)):
        if ctype == "dcis" and stage not in ("0", "unknown"):
            continue
        if stage == "0" and ctype not in ("dcis", "unknown"):
            continue
        menopause = ["pre", "peri", "post", "unknown"][n % 4]
        sex = "male" if n % 7 == 0 else "female"
        yield {"id": f"s{n:04d}", "stage": stage, "type": ctype, "er": er, "pr": pr,
               "her2": her2 if stage != "0" else "", "menopause": menopause if sex == "female" else "",
               "sex": sex}


def validate(folder: Path) -> tuple[int, list[str]]:
    import page

    bad = []
    pdfs = sorted(folder.glob("*.pdf"))
    for pdf in pdfs:
        report = page.validate_pdf(pdf, profile="ua1")
        if not report.is_compliant:
            bad.append(f"{pdf.name}: {[(f.rule_id, f.message[:80]) for f in report.failures][:3]}")
    return len(pdfs), bad


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="booklet-sweep-"))
    booklet = str(BIN / "booklet")
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    failures: list[str] = []
    start = time.perf_counter()

    rows = list(combos())
    src = out / "combos.csv"
    out.mkdir(parents=True, exist_ok=True)
    with src.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run = subprocess.run([booklet, "batch", str(src), "--out-dir", str(out / "combos"), "--force",
                          "--date", "2026-11-26", *jobs], capture_output=True, text=True)
    print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:])
    if run.returncode not in (0, 1):
        failures.append(f"batch exit {run.returncode}")
    errors = list(csv.DictReader((out / "combos" / "errors.csv").open()))
    for e in errors:
        failures.append(f"combo {e['row']}: {e['message'][:120]}")
    n, bad = validate(out / "combos")
    failures += bad
    print(f"combinations: {len(rows)} profiles, {n} rendered, {len(bad)} not PDF/UA-1 compliant")

    for mode, extra in (("default", []), ("large print", ["--large-print"]), ("A4", ["--paper", "a4"])):
        folder = out / f"examples-{mode.replace(' ', '-')}"
        rows_ex = sorted(p for p in (ROOT / "examples").glob("*.yaml"))
        (folder / "in").mkdir(parents=True, exist_ok=True)
        for p in rows_ex:
            (folder / "in" / p.name).write_text(p.read_text())
        run = subprocess.run([booklet, "batch", str(folder / "in"), "--out-dir", str(folder), "--force",
                              "--date", "2026-11-26", *extra, *jobs], capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"examples {mode}: batch exit {run.returncode}: {run.stderr[-300:]}")
        n, bad = validate(folder)
        failures += bad
        print(f"examples, {mode}: {n} rendered, {len(bad)} not PDF/UA-1 compliant")

    print(f"sweep: {len(failures)} failures in {time.perf_counter() - start:.0f} s (output in {out})")
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
