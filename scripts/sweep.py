"""Render sweep outside the default suite: every stage x type x sub-type once, plus every
bundled example in every mode (default, large print, A4, clinic-branded, imposed booklet),
each checked with the PDF/UA-1 validator and read as a screen reader reads it
(booklet.pdfread.audit: marked content outside the tree, links, table headers, sections,
lists, text sizes). With --verapdf, veraPDF's PDF/UA-1 rules run on the examples too.

Run: .venv/bin/python scripts/sweep.py [--jobs 2] [--out DIR] [--examples-only]
         [--verapdf /work/shared/tools/verapdf-ua/verapdf-ua]
Prints one line per failure and a summary per mode; exit 1 if anything failed.
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


# smallest body text and smallest other text (footers), in points
SIZES = {"large print": (18, 16)}
CLEAR = (13, 12)


def validate(folder: Path, mode: str = "default", verapdf: str | None = None,
             pattern: str = "*.pdf") -> tuple[int, list[str], dict]:
    """Check every PDF in `folder`; returns (count, failures, totals for the summary)."""
    import page

    from booklet.pdfread import audit

    body_min, other_min = SIZES.get(mode, CLEAR)
    bad = []
    totals = {"untagged": 0, "min body": 99.0, "min other": 99.0, "verapdf failures": 0}
    pdfs = sorted(p for p in folder.glob(pattern) if not p.name.endswith("-print.pdf"))
    for pdf in pdfs:
        report = page.validate_pdf(pdf, profile="ua1")
        if not report.is_compliant:
            bad.append(f"{pdf.name}: {[(f.rule_id, f.message[:80]) for f in report.failures][:3]}")
        found = audit(pdf.read_bytes())
        totals["untagged"] += found.untagged
        totals["min body"] = min(totals["min body"], found.min_body)
        totals["min other"] = min(totals["min other"], found.min_other)
        problems = {
            "marked content outside the tree": found.untagged,
            "unmarked content": found.unmarked,
            "links inside links": found.nested_links,
            "links without words": len(found.links_without_words),
            "TH without Scope": found.th_without_scope,
            "Sect/Art without heading": len(found.sections_without_heading),
            "bad list nesting": len(found.bad_list_nesting),
            f"body text under {body_min} pt": found.min_body < body_min,
            f"other text under {other_min} pt": found.min_other < other_min,
        }
        for what, count in problems.items():
            if count:
                bad.append(f"{mode} {pdf.name}: {what} ({int(count)})")
    if verapdf and pdfs:
        run = subprocess.run([verapdf, "ua1", *map(str, pdfs)], capture_output=True, text=True)
        for line in run.stdout.splitlines():
            if line.startswith("FILE") and "compliant=true" not in line:
                totals["verapdf failures"] += 1
                bad.append(f"veraPDF {mode}: {line}")
    return len(pdfs), bad, totals


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--examples-only", action="store_true", help="skip the stage x type x sub-type sweep")
    ap.add_argument("--verapdf", default=None, help="path to the verapdf-ua script (optional)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="booklet-sweep-"))
    booklet = str(BIN / "booklet")
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    failures: list[str] = []
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)

    if not args.examples_only:
        rows = list(combos())
        src = out / "combos.csv"
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
        n, bad, totals = validate(out / "combos")
        failures += bad
        print(f"combinations: {len(rows)} profiles, {n} rendered, {len(bad)} problems, "
              f"{totals['untagged']} pieces of marked content outside the tree")

    clinic = ROOT / "examples" / "clinic" / "clinic.yaml"
    examples = sorted(p for p in (ROOT / "examples").glob("*.yaml"))
    for mode, extra in (("default", []), ("large print", ["--large-print"]), ("A4", ["--paper", "a4"]),
                        ("clinic", ["--clinic", str(clinic)]), ("booklet", ["--imposition", "booklet"])):
        folder = out / f"examples-{mode.replace(' ', '-')}"
        (folder / "in").mkdir(parents=True, exist_ok=True)
        if mode == "booklet":  # not a batch option: one render each (accessible PDF + print file)
            for p in examples:
                run = subprocess.run([booklet, "render", str(p), "-o", str(folder / f"{p.stem}.pdf"),
                                      "--date", "2026-11-26", *extra], capture_output=True, text=True)
                if run.returncode != 0 or not (folder / f"{p.stem}-print.pdf").exists():
                    failures.append(f"examples {mode} {p.stem}: exit {run.returncode}: {run.stderr[-300:]}")
        else:
            for p in examples:
                (folder / "in" / p.name).write_text(p.read_text())
            run = subprocess.run([booklet, "batch", str(folder / "in"), "--out-dir", str(folder), "--force",
                                  "--date", "2026-11-26", *extra, *jobs], capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"examples {mode}: batch exit {run.returncode}: {run.stderr[-300:]}")
        n, bad, totals = validate(folder, mode, args.verapdf)
        failures += bad
        if mode == "booklet":  # the print files keep their language and title
            import pikepdf

            for printed in sorted(folder.glob("*-print.pdf")):
                with pikepdf.open(printed) as sheets:
                    if str(sheets.Root.get("/Lang", "")) != "en" or not str(sheets.docinfo.get("/Title", "")):
                        failures.append(f"{printed.name}: no language or title")
        vera = f", veraPDF: {totals['verapdf failures']} not compliant" if args.verapdf else ""
        print(f"examples, {mode}: {n} rendered, {len(bad)} problems, {totals['untagged']} pieces of "
              f"marked content outside the tree, smallest body text {totals['min body']} pt, smallest "
              f"other text {totals['min other']} pt{vera}")

    print(f"sweep: {len(failures)} failures in {time.perf_counter() - start:.0f} s (output in {out})")
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
