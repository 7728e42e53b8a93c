"""booklet serve in a real browser: Debian's Chromium driven by Playwright.

A server is started as a nurse would start it (`booklet serve`), on a free loopback port,
with the booklet's date fixed, and the tests use the page as a nurse does: the form filled
with the mouse, once with the keyboard only, a bad answer, a CSV upload, and an axe-core
scan of the page. No browser is downloaded: scripts/setup.sh installs Debian's chromium.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = os.environ.get("BOOKLET_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
DAY = "2026-11-26"
EPOCH = "1795651200"  # 2026-11-26T00:00:00Z: the date every booklet here carries
ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

playwright_api = pytest.importorskip("playwright.sync_api")

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)

pytestmark = pytest.mark.browser

# the bundled example with its regimen named as the form names it
TYPICAL = """\
stage: IV
type: idc
er: positive
pr: positive
her2: negative
menopause: post
metastases: [bone]
current_therapies: [letrozole-ribociclib]
start_date: 2026-12-07
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    booklet = Path(sys.executable).with_name("booklet")
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen([str(booklet), "serve", "--port", str(port), "--workers", "2",
                             "--queue", "8"], env=env, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            raise RuntimeError("booklet serve did not start:\n" + log_path.read_text())
        time.sleep(0.5)
    yield url
    stop(proc)
    log_file.close()
    log = log_path.read_text()
    assert "ready with 2 workers" in log
    # the server's log holds method, path and status, never an answer from the form
    for secret in ("Robin", "letrozole", "ribociclib", "2026-12-07", "555-0100"):
        assert secret not in log, secret


def stop(proc: subprocess.Popen) -> None:
    """End the server (Ctrl-C, as a nurse would), then anything left in its own session."""
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the server's own process group only
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, tmp_path):
    context = browser.new_context(accept_downloads=True, locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          check=True).stdout.decode()


def pdf_pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(pdf)).pages)


@pytest.fixture(scope="module")
def cli_pdf(tmp_path_factory) -> Path:
    """The same profile rendered by the command line, with the same date."""
    folder = tmp_path_factory.mktemp("cli")
    out, profile = folder / "cli.pdf", folder / "typical.yaml"
    profile.write_text(TYPICAL, encoding="utf-8")
    booklet = Path(sys.executable).with_name("booklet")
    subprocess.run([str(booklet), "render", str(profile), "--date", DAY, "-o", str(out)],
                   check=True, capture_output=True)
    return out


def test_a_nurse_fills_the_form_and_gets_the_same_booklet_as_the_cli(server, page, tmp_path,
                                                                     cli_pdf):
    started = time.perf_counter()
    page.goto(server + "/")
    page.get_by_label("Stage IV (spread to other organs)").check()
    page.get_by_label("Invasive ductal").check()
    page.locator("#f-er").get_by_label("Positive").check()
    page.locator("#f-pr").get_by_label("Positive").check()
    page.locator("#f-her2").get_by_label("Negative", exact=True).check()
    page.get_by_label("After menopause").check()
    page.get_by_label("Bone", exact=True).check()
    page.get_by_label("Find a medicine or regimen").fill("letrozole ribociclib")
    assert page.locator("#cur-ac-docetaxel").is_hidden()  # the search narrows the list
    page.wait_for_function("() => /^[0-9]+ match/.test("
                           "document.querySelector('#current-search-count').textContent)")
    page.get_by_label("Letrozole and ribociclib", exact=True).check()
    page.get_by_label("First day of the current treatment").fill("2026-12-07")
    # the plan beside the form follows the answers
    panel = page.locator("#plan")
    panel.get_by_text("Regimen: Letrozole and ribociclib").wait_for()
    assert "stage IV breast cancer" in panel.inner_text()
    filled = time.perf_counter()
    with page.expect_download() as download:
        page.get_by_role("button", name="Make the booklet (PDF)").click()
    out = tmp_path / "web.pdf"
    download.value.save_as(out)
    seconds, render = time.perf_counter() - started, time.perf_counter() - filled
    assert download.value.suggested_filename == "booklet.pdf"
    assert pdf_pages(out) == pdf_pages(cli_pdf)
    assert pdf_text(out) == pdf_text(cli_pdf)
    assert "Letrozole and ribociclib" in pdf_text(out)
    print(f"\npage opened to PDF saved (mouse, scripted): {seconds:.1f} s, of which the "
          f"button to the saved PDF {render:.1f} s; {pdf_pages(out)} pages")


def tab_to(page, selector: str, limit: int = 400) -> int:
    """Press Tab until the element matching `selector` has the focus; return the presses."""
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return n
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def choose(page, name: str, value: str) -> int:
    """A radio group by keyboard: Tab into it, then arrow keys to the answer."""
    presses = tab_to(page, f'input[type=radio][name="{name}"]')
    for _ in range(12):
        if page.evaluate("n => document.querySelector(`input[name='${n}']:checked`).value",
                         name) == value:
            return presses
        page.keyboard.press("ArrowDown")
        presses += 1
    raise AssertionError(f"{name}: {value} cannot be chosen with the arrow keys")


def test_keyboard_only(server, page, tmp_path, cli_pdf):
    """Every answer given with Tab, the arrow keys, Space, typing and Enter; no mouse."""
    started = time.perf_counter()
    page.goto(server + "/")
    keys = choose(page, "menopause", "post")
    # the focus is visible: a thick outline on the focused radio
    style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert style not in ("", "none")
    keys += choose(page, "stage", "IV")
    keys += choose(page, "type", "idc")
    keys += choose(page, "er", "positive")
    keys += choose(page, "pr", "positive")
    keys += choose(page, "her2", "negative")
    keys += tab_to(page, "#current-search")
    page.keyboard.type("letrozole rib")
    keys += 1
    keys += tab_to(page, "#cur-letrozole-ribociclib")
    page.keyboard.press("Space")
    keys += tab_to(page, "#f-metastases-1")  # Bone
    page.keyboard.press("Space")
    keys += tab_to(page, "#f-start-date")
    page.keyboard.type("12072026")
    keys += 2
    page.locator("#plan").get_by_text("Regimen: Letrozole and ribociclib").wait_for()
    keys += tab_to(page, "button[value=download]")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    out = tmp_path / "keys.pdf"
    download.value.save_as(out)
    seconds = time.perf_counter() - started
    assert pdf_pages(out) == pdf_pages(cli_pdf)
    assert pdf_text(out) == pdf_text(cli_pdf)
    print(f"\nkeyboard only: {keys} key presses, {seconds:.1f} s scripted, {pdf_pages(out)} pages")


def test_a_bad_field_shows_its_message_beside_it_and_is_announced(server, page):
    message = "Profile field 'metastases': ['bone'] conflicts with stage: II"
    page.goto(server + "/")
    page.get_by_label("Stage II", exact=True).check()
    page.get_by_label("Bone", exact=True).check()
    error = page.locator("#f-metastases-error")
    error.get_by_text(message).wait_for()
    assert error.inner_text().startswith("Error:")  # a word, not only a colour
    status = page.locator("#plan-status")
    page.wait_for_function("() => document.querySelector('#plan-status').textContent.length > 0")
    assert message in status.inner_text()
    assert status.get_attribute("role") == "status"
    # the field names its error for a screen reader
    described = page.locator("#f-metastases").get_attribute("aria-describedby")
    assert "f-metastases-error" in described


def test_without_javascript_the_preview_button_does_the_same(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.get_by_label("Stage II", exact=True).check()
        page.get_by_label("Bone", exact=True).check()
        page.get_by_role("button", name="Preview what will be in the booklet").click()
        summary = page.locator("#error-summary")
        assert "conflicts with stage: II" in summary.inner_text()
        assert summary.get_attribute("role") == "alert"
        assert "conflicts with stage: II" in page.locator("#f-metastases-error").inner_text()
        assert page.get_by_label("Stage II", exact=True).is_checked()  # answers kept
        page.get_by_label("Bone", exact=True).uncheck()
        page.get_by_role("button", name="Preview what will be in the booklet").click()
        assert "stage II breast cancer" in page.locator("#plan").inner_text()
    finally:
        context.close()


def batch_csv(path: Path) -> None:
    rows = [
        {"id": "p01", "stage": "IV", "er": "positive", "pr": "positive", "her2": "negative",
         "menopause": "post", "metastases": "bone", "current_therapies": "letrozole-ribociclib"},
        {"id": "p02", "stage": "II", "er": "negative", "pr": "negative", "her2": "negative",
         "phase": "before-surgery"},
        {"id": "p03", "stage": "III", "er": "negative", "pr": "negative", "her2": "positive"},
        {"id": "p04", "stage": "I", "type": "ilc", "er": "positive", "her2": "low",
         "menopause": "pre"},
        {"id": "p05", "stage": "0", "type": "dcis"},
        {"id": "p06", "stage": "IV", "er": "negative", "pr": "negative", "her2": "positive",
         "metastases": "liver;lung"},
        {"id": "p07", "stage": "II", "her2": "maybe"},                        # bad
        {"id": "p08", "stage": "IV", "sex": "male", "er": "positive", "her2": "negative"},
        {"id": "p09", "stage": "II", "metastases": "bone"},                   # bad
        {"id": "p10", "stage": "unknown"},
    ]
    columns = ["id", "stage", "type", "er", "pr", "her2", "menopause", "sex", "metastases",
               "phase", "current_therapies"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)


def test_a_csv_of_10_rows_with_2_bad_gives_a_zip(server, page, tmp_path):
    source = tmp_path / "day.csv"
    batch_csv(source)
    page.set_default_timeout(240_000)  # 8 booklets on 2 workers, on a shared machine
    page.goto(server + "/batch")
    page.get_by_label("CSV file").set_input_files(str(source))
    with page.expect_download(timeout=240_000) as download:
        page.get_by_role("button", name="Make the booklets (zip)").click()
    out = tmp_path / "booklets.zip"
    download.value.save_as(out)
    with zipfile.ZipFile(out) as z:
        names = sorted(z.namelist())
        assert names == sorted([f"p{n:02d}.pdf" for n in (1, 2, 3, 4, 5, 6, 8, 10)]
                               + ["errors.csv"])
        for name in names:
            if name.endswith(".pdf"):
                assert z.read(name).startswith(b"%PDF-")
        errors = list(csv.DictReader(io.StringIO(z.read("errors.csv").decode())))
    assert [(e["row"], e["id"], e["field"]) for e in errors] == [
        ("row 8", "p07", "her2"), ("row 10", "p09", "metastases")]
    assert "'maybe' is not one of" in errors[0]["message"]


def run_axe(page) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})""")
    return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]]


def test_axe_finds_no_violation(browser, server):
    # axe is injected through the DevTools protocol; the page's own CSP stays as it is
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.locator("#plan .plan-lead").wait_for()
        assert run_axe(page) == []
        # with an error shown beside a field and in the summary
        page.get_by_label("Stage II", exact=True).check()
        page.get_by_label("Bone", exact=True).check()
        page.get_by_role("button", name="Preview what will be in the booklet").click()
        page.locator("#f-metastases-error").get_by_text("conflicts").wait_for()
        assert run_axe(page) == []
        page.goto(server + "/batch")
        assert run_axe(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [640, 320])
def test_the_page_reflows_at_200_and_400_percent_zoom(browser, server, width):
    """A 1280-pixel window at 200% zoom is 640 CSS pixels wide; at 400%, 320."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.locator("#plan .plan-lead").wait_for()
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width, f"{wide} CSS pixels wide in a {width}-pixel window"
    finally:
        context.close()


def test_every_field_has_a_label(server, page):
    page.goto(server + "/")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length))
        .map(el => el.id || el.name)""")
    assert unlabelled == []
    assert page.evaluate("() => document.documentElement.lang") == "en"


def test_health_answers(server):
    with urllib.request.urlopen(server + "/healthz") as r:
        body = json.loads(r.read())
    assert body["ok"] and body["workers"] == 2


def test_options_and_headers_of_the_pdf(server):
    """Print options reach the booklet; the PDF is never cached; the password locks it."""
    import urllib.parse

    import pikepdf

    fields = [("stage", "II"), ("er", "negative"), ("pr", "negative"), ("her2", "negative"),
              ("phase", "before-surgery"), ("paper", "a4"), ("large_print", "1"),
              ("encrypt", "1"), ("password", "a long secret"), ("deliver", "open")]
    request = urllib.request.Request(server + "/booklet", method="POST", headers={
        "Origin": server}, data=urllib.parse.urlencode(fields).encode())
    with urllib.request.urlopen(request, timeout=300) as r:
        body, headers = r.read(), r.headers
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == 'inline; filename="booklet.pdf"'
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(body))
    with pikepdf.open(io.BytesIO(body), password="a long secret") as pdf:
        width, height = (float(v) for v in pdf.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_a_booklet_with_a_problem_is_not_sent(server, page):
    """With a problem shown, the buttons say so and put the focus on the field, instead of
    opening a new tab with the form again."""
    page.goto(server + "/")
    page.get_by_label("Stage II", exact=True).check()
    page.get_by_label("Bone", exact=True).check()
    page.locator("#f-metastases-error").get_by_text("conflicts").wait_for()
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/booklet") else None)
    page.get_by_role("button", name="Make the booklet (PDF)").click()
    page.wait_for_function("() => document.querySelector('#plan-status').textContent"
                           ".startsWith('The booklet cannot be made yet')")
    assert page.evaluate("() => document.activeElement.name") == "metastases"
    assert requests == []
