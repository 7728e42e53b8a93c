"""Page, word and time figures for the handout targets (Letter, default options).

Run: .venv/bin/python benchmarks/targets.py [--large-print] [--png DIR]

For each target profile it renders the bundled example and prints: pages (and the target),
words, render time (one cold CLI run), pages in large print and the ratio, and the layout
figures a reader notices: pages less than a third full that do not come before a chapter,
and headings left alone at the bottom of a page. Nothing here is a test: the numbers are
figures to quote, and the render time varies with the machine and its load.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

BIN = Path(sys.executable).parent
DATE = "2026-12-04"

TARGETS = [
    ("stage-iv-hr-pos-her2-pos", "reference: stage IV HR+ HER2+, menopause and sites unknown", 40),
    ("stage-iv-hr-pos-her2-neg-letrozole-ribociclib", "stage IV HR+ HER2-, post, bone, letrozole + ribociclib", 20),
    ("stage-ii-after-surgery-anastrozole", "stage II ER+ PR- HER2-, post, after surgery, anastrozole", 16),
    ("stage-ii-triple-negative-before-surgery", "stage II TN, before surgery, carboplatin + paclitaxel + pembrolizumab", 24),
    ("stage-unknown", "everything unknown", 20),
]


def render(example: str, out: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(BIN / "booklet"), "render", "--example", example, "-o", str(out),
                    "--date", DATE, *extra], check=True, capture_output=True)
    return time.perf_counter() - start


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def words(pdf: Path) -> int:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", text))


def layout(pdf: Path, html: str) -> tuple[list[int], list[int]]:
    """(pages under a third full not before a chapter, pages ending in a heading)."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    xml = re.sub(r"<!DOCTYPE[^>]*>", "", xml)
    xml = re.sub(r'xmlns="[^"]*"', "", xml)
    root = ET.fromstring(xml)
    chapters = [" ".join(h.split()) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]
    headings = {" ".join(h.split()) for h in re.findall(r"<h[2-5][^>]*>(.*?)</h[2-5]>", html, re.S)}
    sparse, orphans = [], []
    all_pages = root.findall(".//page")
    for n, page in enumerate(all_pages, 1):
        height = float(page.get("height"))
        lines = page.findall(".//line")
        if not lines:
            continue
        body = [ln for ln in lines if float(ln.get("yMax")) < height - 0.75 * 72]  # not the footer
        if not body:
            continue
        top = min(float(ln.get("yMin")) for ln in body)
        bottom = max(float(ln.get("yMax")) for ln in body)
        fill = (bottom - top) / (height - 1.7 * 72)
        next_first = ""
        if n < len(all_pages):
            nxt = [ln for ln in all_pages[n].findall(".//line")]
            if nxt:
                first = min(nxt, key=lambda ln: float(ln.get("yMin")))
                next_first = " ".join(w.text or "" for w in first.findall("word"))
        before_chapter = any(next_first and c.startswith(next_first[:25]) for c in chapters)
        if fill < 1 / 3 and not before_chapter and n > 1 and n < len(all_pages):
            sparse.append(n)
        last = max(body, key=lambda ln: float(ln.get("yMax")))
        last_text = " ".join(w.text or "" for w in last.findall("word"))
        heights = sorted(float(ln.get("yMax")) - float(ln.get("yMin")) for ln in body)
        tall = float(last.get("yMax")) - float(last.get("yMin")) >= 1.12 * heights[len(heights) // 2]
        if last_text in headings and tall:  # headings are set larger than body text
            orphans.append(n)
    return sparse, orphans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--png", type=Path, help="also write PNG pages of each booklet here")
    args = ap.parse_args()
    print(f"{'profile':<72} {'pages':>5} {'target':>6} {'words':>6} {'time s':>6} "
          f"{'LP pages':>8} {'LP x':>5}  sparse / heading-at-bottom pages")
    with tempfile.TemporaryDirectory() as tmp:
        for example, label, target in TARGETS:
            out = Path(tmp) / f"{example}.pdf"
            seconds = render(example, out)
            html_path = Path(tmp) / f"{example}.html"
            render(example, html_path, "--format", "html")
            lp = Path(tmp) / f"{example}-lp.pdf"
            render(example, lp, "--large-print")
            n, lp_n = pages(out), pages(lp)
            sparse, orphans = layout(out, html_path.read_text())
            ok = "ok" if n <= target else "OVER"
            print(f"{label:<72} {n:>5} {'<=' + str(target):>6} {words(out):>6} {seconds:>6.1f} "
                  f"{lp_n:>8} {lp_n / n:>5.2f}  {sparse} / {orphans} {ok}")
            if args.png:
                args.png.mkdir(parents=True, exist_ok=True)
                subprocess.run(["pdftoppm", "-png", "-r", "50", str(out),
                                str(args.png / example)], check=True)


if __name__ == "__main__":
    main()
