"""Take the README's picture of `booklet serve`: the form for a typical profile, with the
plan beside it, in Debian's headless Chromium.

    .venv/bin/python scripts/web-screenshot.py [docs/nurse-form.png]
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "nurse-form.png")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    booklet = Path(sys.executable).with_name("booklet")
    proc = subprocess.Popen([str(booklet), "serve", "--port", str(port), "--workers", "1",
                             "--clinic", str(ROOT / "examples" / "clinic" / "clinic.yaml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        for _ in range(360):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1040}, locale="en-US")
            page.goto(url + "/")
            page.get_by_label("After menopause").check()
            page.get_by_label("Stage IV (spread to other organs)").check()
            page.get_by_label("Invasive ductal").check()
            page.locator("#f-er").get_by_label("Positive").check()
            page.locator("#f-pr").get_by_label("Positive").check()
            page.locator("#f-her2").get_by_label("Negative", exact=True).check()
            page.get_by_label("Find a medicine or regimen").fill("letrozole rib")
            page.get_by_label("Letrozole and ribociclib", exact=True).check()
            page.get_by_label("Bone", exact=True).check()
            page.locator("#plan").get_by_text("Regimen: Letrozole and ribociclib").wait_for()
            page.locator("#current-search").focus()
            page.evaluate("() => window.scrollTo(0, document.querySelector('#f-her2')"
                          ".getBoundingClientRect().top + window.scrollY - 10)")
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
        print(f"wrote {out}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
