"""Speed, scaling, memory and size figures, each as a ratio against bare WeasyPrint.

Run: .venv/bin/python benchmarks/bench.py [--rows 8] [--repeat 3]

Prints, on this machine:
  1. cold `booklet render` vs the bare `weasyprint` CLI on the same HTML (goal <= 1.05)
  2. warm per-booklet time in one process vs the bare WeasyPrint API on the same HTML
  3. batch throughput with 1 and N workers, and scaling against ideal (goal >= 0.85)
  4. peak memory of one worker (max RSS)
  5. PDF size per booklet and per page
  6. time to impose a 24-page booklet for saddle stitching
Nothing here is a test: the numbers vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLE = "stage-iv-hr-pos-her2-pos-full"
DATE = "2026-11-26"


def timed(cmd: list[str], **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, **kw)
    return time.perf_counter() - start


def best(values: list[float]) -> float:
    """The median: single renders vary by +-10 % on a shared machine."""
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="booklet-bench-"))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795651200"}
    booklet = str(BIN / "booklet")
    weasyprint = str(BIN / "weasyprint")
    templates = ROOT / "templates"
    if not (templates / "booklet.css").exists():
        import booklet.assets

        templates = booklet.assets.path("templates")

    # The same HTML for both sides.
    html = tmp / "b.html"
    subprocess.run([booklet, "render", "--example", EXAMPLE, "--format", "html", "-o", str(html),
                    "--date", DATE], check=True, capture_output=True, env=env)

    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"profile: {EXAMPLE}\n")

    # 1. cold CLI
    ours = [timed([booklet, "render", "--example", EXAMPLE, "-o", str(tmp / "c.pdf"), "--date", DATE,
                   "--force"], env=env)
            for _ in range(args.repeat)]
    bare = [timed([weasyprint, "--base-url", str(templates) + "/", "--pdf-variant", "pdf/ua-1",
                   str(html), str(tmp / "w.pdf")], env=env) for _ in range(args.repeat)]
    print(f"1. cold CLI      booklet render {best(ours):6.2f} s   weasyprint CLI {best(bare):6.2f} s"
          f"   ratio {best(ours) / best(bare):.3f}  (goal <= 1.05)")

    # 2. warm, in one process
    code = f"""
import time, datetime as dt, sys
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from booklet.build import build, load_profile
from booklet.context import Options
from booklet import assets
prof = load_profile(str(assets.path('examples') / '{EXAMPLE}.yaml'))
opts = Options(date=dt.date(2026, 11, 26))
html = open({str(html)!r}).read()
base = str(assets.path('templates')) + '/'
fc = FontConfiguration()
build(prof, opts); HTML(string=html, base_url=base).write_pdf(pdf_variant='pdf/ua-1', font_config=fc)
ours, bare = [], []
for _ in range({args.repeat}):
    t = time.perf_counter(); build(prof, opts); ours.append(time.perf_counter() - t)
    t = time.perf_counter(); HTML(string=html, base_url=base).write_pdf(pdf_variant='pdf/ua-1', pdf_tags=True, font_config=fc); bare.append(time.perf_counter() - t)
import statistics
print(statistics.median(ours), statistics.median(bare))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    w_ours, w_bare = map(float, out.stdout.split())
    print(f"2. warm          booklet build  {w_ours:6.2f} s   WeasyPrint API {w_bare:6.2f} s"
          f"   ratio {w_ours / w_bare:.3f}")

    # 3. batch scaling
    src = tmp / "rows.csv"
    with src.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "stage", "er", "pr", "her2", "menopause", "metastases"])
        for i in range(args.rows):
            writer.writerow([f"r{i}", "IV", "positive", "positive", "positive",
                             ["pre", "post", "unknown"][i % 3], ["bone", "liver;lung", ""][i % 3]])
    rates = {}
    cpus = os.cpu_count() or 1
    for jobs in sorted({1, cpus}):
        out_dir = tmp / f"out{jobs}"
        t = timed([booklet, "batch", str(src), "--out-dir", str(out_dir), "--jobs", str(jobs),
                   "--date", DATE], env=env)
        rates[jobs] = args.rows / t
        print(f"3. batch {jobs} job{'s' if jobs > 1 else ' '}    {args.rows} booklets in {t:6.2f} s"
              f"   {rates[jobs] * 60:6.1f} booklets a minute")
    if cpus > 1:
        scaling = rates[cpus] / (rates[1] * cpus)
        print(f"   scaling with {cpus} workers: {scaling:.2f} of ideal  (goal >= 0.85)")

    # 4. peak memory of one worker rendering the batch
    out_dir = tmp / "mem"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([booklet, "batch", str(src), "--out-dir", str(out_dir), "--jobs", "1", "--date", DATE],
                   check=True, capture_output=True, env=env)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"4. memory        peak RSS of a one-worker batch: {max(peak, before) / 1024:.0f} MB")

    # 5. size
    pdfs = sorted((tmp / "out1").glob("*.pdf"))
    from pypdf import PdfReader

    sizes = [p.stat().st_size for p in pdfs]
    pages = [len(PdfReader(p).pages) for p in pdfs]
    print(f"5. size          {statistics.mean(sizes) / 1024:.0f} KB a booklet on average, "
          f"largest {max(sizes) / 1024:.0f} KB, {sum(sizes) / sum(pages) / 1024:.1f} KB a page "
          f"({min(pages)}-{max(pages)} pages)")
    # 6. imposition of a 24-page half-size booklet (the first 24 pages of a real one)
    code6 = f"""
import io, time, datetime as dt
import pikepdf
from booklet.build import build, load_profile
from booklet.context import Options
from booklet.finish import impose
from booklet import assets
prof = load_profile(str(assets.path('examples') / '{EXAMPLE}.yaml'))
pdf = build(prof, Options(date=dt.date(2026, 11, 26), imposition='none')).pdf
with pikepdf.open(io.BytesIO(pdf)) as doc:
    del doc.pages[24:]
    buf = io.BytesIO(); doc.save(buf); pages24 = buf.getvalue()
times = []
for _ in range(5):
    t = time.perf_counter(); impose(pages24); times.append(time.perf_counter() - t)
print(min(times))
"""
    out = subprocess.run([sys.executable, "-c", code6], check=True, capture_output=True, text=True, env=env)
    print(f"6. imposition    24 pages onto 6 sheets: {float(out.stdout) * 1000:.0f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
