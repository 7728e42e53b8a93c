"""Load on `booklet serve`, on loopback: bursts of concurrent renders.

Starts the server as a nurse would (its own process, a free 127.0.0.1 port), sends bursts of
N simultaneous POSTs of a typical profile, and reports how many got their PDF, how many got
a clean "busy" (503) and anything else; the time each took; whether the server still
answers afterwards; and the memory of the server and its render workers (RSS, sampled every
quarter second), burst after burst, to show that it stays bounded.

    .venv/bin/python benchmarks/web_load.py [--burst 20] [--bursts 3] [--workers 2] [--queue 8]

Figures, not a test: nothing here is asserted. Traffic goes to 127.0.0.1 only; every loop
is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROFILE = [("stage", "IV"), ("type", "idc"), ("er", "positive"), ("pr", "positive"),
           ("her2", "negative"), ("menopause", "post"), ("metastases", "bone"),
           ("current_therapies", "letrozole-ribociclib"), ("start_date", "2026-12-07"),
           ("deliver", "download")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def family(root: int) -> list[int]:
    """The server and every process under it."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Sampler(threading.Thread):
    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.samples, self.stop = root, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            pids = family(self.root)
            self.samples.append((time.perf_counter(), len(pids), rss_mb(pids)))


def post(url: str) -> tuple[int, float, int]:
    body = urllib.parse.urlencode(PROFILE).encode()
    request = urllib.request.Request(url + "/booklet", data=body, method="POST", headers={
        "Origin": url, "Content-Type": "application/x-www-form-urlencoded"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as r:
            data = r.read()
            return r.status, time.perf_counter() - started, len(data)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, time.perf_counter() - started, 0
    except OSError:
        return -1, time.perf_counter() - started, 0


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--bursts", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--recycle", type=int, default=100, help="booklets per worker process")
    args = ap.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    booklet = Path(sys.executable).with_name("booklet")
    log = open(os.devnull, "wb")
    proc = subprocess.Popen([str(booklet), "serve", "--port", str(port), "--workers",
                             str(args.workers), "--queue", str(args.queue),
                             "--recycle", str(args.recycle)],
                            stdout=log, stderr=log, start_new_session=True)
    try:
        started = time.perf_counter()
        while not healthy(url):
            if proc.poll() is not None or time.perf_counter() - started > 180:
                raise SystemExit("booklet serve did not start")
            time.sleep(0.5)
        ready = time.perf_counter() - started
        sampler = Sampler(proc.pid)
        sampler.start()
        time.sleep(1)
        idle = sampler.samples[-1][2]
        single = [post(url) for _ in range(3)]
        print(f"booklet serve: {args.workers} workers, queue {args.queue}, a worker replaced "
              f"after {args.recycle} booklets; ready in {ready:.1f} s; "
              f"{idle:.0f} MB (server and workers, idle)")
        print(f"one booklet at a time: {', '.join(f'{t:.1f} s' for _, t, _ in single)} "
              f"({single[-1][2] / 1024:.0f} KB)")
        print()
        print("burst  sent  PDF  busy(503)  other   PDF time p50 / max    503 time max   peak MB   up after")
        for n in range(1, args.bursts + 1):
            mark = time.perf_counter()
            with ThreadPoolExecutor(args.burst) as pool:
                results = list(pool.map(lambda _: post(url), range(args.burst)))
            ok = [t for s, t, _ in results if s == 200]
            busy = [t for s, t, _ in results if s == 503]
            other = [s for s, _, _ in results if s not in (200, 503)]
            peak = max((mb for at, _, mb in sampler.samples if at >= mark), default=0.0)
            print(f"{n:5d}  {args.burst:4d}  {len(ok):3d}  {len(busy):9d}  {len(other):5d}   "
                  f"{statistics.median(ok) if ok else 0:6.1f} / {max(ok, default=0):5.1f} s   "
                  f"{max(busy, default=0):9.2f} s   {peak:7.0f}   {'yes' if healthy(url) else 'NO'}")
        sampler.stop.set()
        sampler.join()
        settled = rss_mb(family(proc.pid))
        print()
        print(f"memory: idle {idle:.0f} MB, highest {max(mb for _, _, mb in sampler.samples):.0f} MB, "
              f"after the bursts {settled:.0f} MB; processes at most "
              f"{max(c for _, c, _ in sampler.samples)}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


if __name__ == "__main__":
    main()
