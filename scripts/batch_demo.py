"""The batch acceptance run, outside the default suite: a 200-row CSV with 10 bad rows.

1. start the batch and interrupt it part-way (SIGINT, as Ctrl-C would);
2. check no partial PDF was left behind;
3. resume with --resume and check: 190 PDFs, errors.csv names the 10 bad rows, exit 1.

Run: .venv/bin/python scripts/batch_demo.py [--jobs 2] [--interrupt-after 20]
"""

from __future__ import annotations

import argparse
import csv
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BAD = {7: ("her2", "maybe"), 23: ("stage", "V"), 41: ("sex", "robot"), 58: ("er", "sometimes"),
       77: ("metastases", "moon"), 96: ("menopause", "yes"), 115: ("province", "XX"),
       133: ("biomarkers.brca", "perhaps"), 151: ("type", "zzz"), 190: ("prior_therapies", "notadrug")}


def rows():
    header = ["id", "stage", "type", "er", "pr", "her2", "menopause", "sex", "metastases",
              "biomarkers.brca", "prior_therapies", "province"]
    stages = ["IV", "II", "III", "I", "0"]
    out = []
    for n in range(1, 201):
        stage = stages[n % 5]
        row = {"id": f"p{n:03d}", "stage": stage, "type": "dcis" if stage == "0" else "idc",
               "er": ["positive", "negative"][n % 2], "pr": "", "her2": "" if stage == "0" else
               ["positive", "negative", "low"][n % 3], "menopause": ["pre", "post", ""][n % 3],
               "sex": "female", "metastases": "bone;liver" if stage == "IV" and n % 2 else "",
               "biomarkers.brca": "", "prior_therapies": "", "province": "ON"}
        if n in BAD:
            field, value = BAD[n]
            row[field] = value
        out.append(row)
    return header, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--interrupt-after", type=int, default=20, help="PDFs written before Ctrl-C")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="booklet-batch-"))
    header, data = rows()
    src = tmp / "day.csv"
    with src.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(data)
    out = tmp / "out"
    cmd = [str(BIN / "booklet"), "batch", str(src), "--out-dir", str(out), "--jobs", str(args.jobs),
           "--date", "2026-11-26"]

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while len(list(out.glob("*.pdf"))) < args.interrupt_after and proc.poll() is None:
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    done_first = len(list(out.glob("*.pdf")))
    partial = list(out.glob("*.part")) + list(out.glob(".booklet-*"))
    print(f"interrupted after {time.perf_counter() - start:.0f} s: exit {proc.returncode}, "
          f"{done_first} PDFs written, {len(partial)} partial files left")

    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    pdfs = sorted(out.glob("*.pdf"))
    with (out / "errors.csv").open() as f:
        errors = list(csv.DictReader(f))
    named = sorted({e["id"] for e in errors})
    expected = sorted(f"p{n:03d}" for n in BAD)
    print(resumed.stdout.strip().splitlines()[-1])
    print(f"resumed: exit {resumed.returncode}; {len(pdfs)} PDFs; errors.csv names {len(named)} rows: "
          f"{', '.join(r['row'] + ' ' + r['field'] for r in errors)}")
    truncated = [p.name for p in pdfs if not p.read_bytes().rstrip().endswith(b"%%EOF")]
    ok = (len(pdfs) == 190 and named == expected and resumed.returncode == 1 and not partial
          and not truncated)
    print(f"total {elapsed:.0f} s; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
