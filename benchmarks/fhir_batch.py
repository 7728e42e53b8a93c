"""Time and memory of `booklet batch` on a synthetic FHIR Bulk Data export.

    .venv/bin/python benchmarks/fhir_batch.py -n 1000                  # PDF booklets
    .venv/bin/python benchmarks/fhir_batch.py -n 5000 --format html    # HTML (hours as PDF on 2 cores)
    .venv/bin/python benchmarks/fhir_batch.py -n 5000 --plan           # reading the export only

Writes the export (scripts/fhir_synth.py) to a temporary folder, runs the batch as a child
process and samples the resident memory of it and its workers every 0.2 s (from /proc).
Prints wall time, the time to index and read the records, and peak RSS of the main process
and of the whole process tree.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(root: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--format", default="pdf", choices=["pdf", "html"])
    parser.add_argument("--plan", action="store_true", help="validate only: read the export, render nothing")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    from fhir_synth import write_export

    with tempfile.TemporaryDirectory(prefix="fhir-bench-") as tmp:
        export = Path(tmp) / "export"
        started = time.perf_counter()
        write_export(export, args.n, broken=0, other=max(1, args.n // 100))
        size = sum(p.stat().st_size for p in export.iterdir())
        print(f"export: {args.n} breast-cancer patients (+{max(1, args.n // 100)} others), "
              f"{size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s")
        booklet = str(ROOT / ".venv" / "bin" / "booklet")
        cmd = ([booklet, "validate", str(export)] if args.plan else
               [booklet, "batch", str(export), "--out-dir", str(Path(tmp) / "out"), "--format", args.format,
                "--jobs", str(args.jobs), "--date", "2026-11-26"])
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak_main = peak_all = 0
        lines: list[str] = []
        import threading

        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        while proc.poll() is None:
            peak_main = max(peak_main, rss_kb(proc.pid))
            peak_all = max(peak_all, sum(rss_kb(p) for p in tree(proc.pid)))
            time.sleep(0.2)
        reader.join()
        wall = time.perf_counter() - started
        read = next((m.group(1) for line in lines for m in [re.search(r"read (?:\S+)/\S+ patients \(([\d.]+) s\)", line)]
                     if m and line.split("read ")[1].split("/")[0] == line.split("/")[1].split()[0]), "?")
        summary = [line.strip() for line in lines if line.startswith(("batch: ", "export.", str(export)))
                   and ("rendered" in line or "rows" in line or "indexed" in line)]
        print("\n".join(summary[-3:]))
        print(f"{'validate' if args.plan else 'batch --format ' + args.format} of {args.n} patients: "
              f"{wall:.1f} s wall (index and read the records: {read} s), exit {proc.returncode}; "
              f"peak RSS main process {peak_main / 1024:.0f} MB, whole tree {peak_all / 1024:.0f} MB "
              f"({args.jobs} workers)")


if __name__ == "__main__":
    main()
