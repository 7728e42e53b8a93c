"""booklet serve, in process: the form, its mapping to profiles, the guards and headers.

Renders go through a real browser in test_web_browser.py; here no worker is started.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from booklet.web.app import Settings, create_app  # noqa: E402
from booklet.web.form import errors_by_field, split  # noqa: E402

BASE = "http://127.0.0.1:8765"
SAME = {"Origin": BASE}


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(workers=1, queue=2))
    return TestClient(app, base_url=BASE)  # not entered: no lifespan, no worker started


@pytest.fixture(scope="module")
def app_only():
    return create_app(Settings(workers=1, queue=0))


def plain(app):
    return TestClient(app, base_url=BASE)


def test_form_fields_are_named_as_profile_keys():
    posted = split([("stage", "IV"), ("er", "positive"), ("her2", "2+ ISH negative"),
                    ("metastases", "bone"), ("metastases", "liver"), ("biomarkers.brca", "unknown"),
                    ("current_therapies", "letrozole-ribociclib"), ("current_therapies", ""),
                    ("care_team.phone", "555-0100"), ("name", ""), ("paper", "a4"),
                    ("encrypt", "1"), ("password", "correct horse")])
    assert posted.data == {"stage": "IV", "er": "positive", "her2": "2+ ISH negative",
                           "metastases": ["bone", "liver"], "biomarkers": {"brca": "unknown"},
                           "current_therapies": ["letrozole-ribociclib"],
                           "care_team": {"phone": "555-0100"}}
    assert posted.options == {"paper": "a4", "encrypt": "1", "password": "correct horse"}


def test_a_posted_form_and_a_profile_file_normalise_the_same(tmp_path):
    from booklet.build import load_profile
    from booklet.content import cached_library
    from booklet.profile import normalise

    profile = tmp_path / "p.yaml"
    profile.write_text("stage: IV\ner: positive\npr: positive\nher2: negative\nmenopause: post\n"
                       "metastases: [bone]\ncurrent_therapies: [letrozole-ribociclib]\n")
    posted = split([("stage", "IV"), ("er", "positive"), ("pr", "positive"), ("her2", "negative"),
                    ("menopause", "post"), ("metastases", "bone"),
                    ("current_therapies", "letrozole-ribociclib"), ("deliver", "download")])
    assert normalise(posted.data, cached_library().drug_names) == load_profile(str(profile))


def test_error_messages_map_to_their_field():
    problems = ["Profile field 'her2': 'maybe' is not one of positive, low",
                "Profile field 'current_therapies[2].drug': 'x' is not a known drug id",
                "Profile field 'biomarkers.brca': 'y' is not one of positive",
                "field 'password': the password is shorter than 8 characters",
                "Profile: the profile is empty"]
    keys = ["her2", "current_therapies", "biomarkers.brca", "password"]
    assert errors_by_field(problems, keys) == {
        "her2": [problems[0]], "current_therapies": [problems[1]],
        "biomarkers.brca": [problems[2]], "password": [problems[3]], "": [problems[4]]}


def test_form_page_labels_language_and_headers(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="en">' in html
    for key in ("stage", "er", "pr", "her2", "menopause", "current_therapies", "prior_therapies",
                "phase", "start_date", "name", "biomarkers.brca", "care_team.phone"):
        assert f'name="{key}"' in html, key
    assert html.count("I don&#39;t know") >= 12
    assert r.headers["cache-control"] == "no-store"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    # every form posts: patient data never travels in a URL
    assert 'method="get"' not in html.lower()


def test_preview_shows_the_plan_and_keeps_the_answers(client):
    r = client.post("/booklet", data={"stage": "IV", "er": "positive", "pr": "positive",
                                      "her2": "negative", "menopause": "post",
                                      "metastases": "bone", "current_therapies": "letrozole-ribociclib",
                                      "name": "Sam", "preview": "1"}, headers=SAME)
    assert r.status_code == 200
    assert "A booklet for stage IV breast cancer" in r.text
    assert "Regimen: Letrozole and ribociclib" in r.text
    assert 'value="Sam"' in r.text
    assert 'id="cur-letrozole-ribociclib" value="letrozole-ribociclib" checked' in r.text
    assert r.headers["cache-control"] == "no-store"


def test_a_bad_field_shows_the_cli_message_beside_it(client):
    r = client.post("/booklet", data={"stage": "IV", "her2": "maybe", "preview": "1"}, headers=SAME)
    assert r.status_code == 422
    message = ("Profile field &#39;her2&#39;: &#39;maybe&#39; is not one of positive, low, "
               "ultralow, negative, unknown")
    assert message in r.text
    beside = r.text.index('id="f-her2-error"')
    assert message in r.text[beside:beside + 600]
    assert 'role="alert"' in r.text and 'href="#f-her2"' in r.text
    assert "<title>Error:" in r.text


def test_plan_endpoint_for_the_script(client):
    r = client.post("/plan", data={"stage": "II", "er": "negative", "pr": "negative",
                                   "her2": "negative", "phase": "before-surgery"}, headers=SAME)
    body = r.json()
    assert r.status_code == 200 and body["problems"] == [] and body["errors"] == {}
    assert "stage II breast cancer" in body["html"] and body["summary"].startswith("Updated:")
    r = client.post("/plan", data={"stage": "II", "metastases": "bone"}, headers=SAME)
    assert list(r.json()["errors"]) == ["metastases"]


def test_short_password_is_refused_before_rendering(client):
    r = client.post("/booklet", data={"stage": "IV", "encrypt": "1", "password": "short",
                                      "deliver": "download"}, headers=SAME)
    assert r.status_code == 422
    assert "field &#39;password&#39;: the password is shorter than 8 characters" in r.text
    assert "short" not in r.text.split('id="f-password"')[1][:200]  # never echoed


def test_cross_site_posts_are_refused(client):
    data = {"stage": "IV", "preview": "1"}
    assert client.post("/booklet", data=data, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/booklet", data=data, headers={"Origin": "null"}).status_code == 403
    assert client.post("/booklet", data=data, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/booklet", data=data, headers=SAME).status_code == 200


def test_unknown_host_names_are_refused_on_loopback(client):
    # a page elsewhere that rebinds its own name to 127.0.0.1 cannot read the answers
    assert client.get("/", headers={"Host": "evil.example:8765"}).status_code == 421
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200


def test_oversized_bodies_are_refused(client):
    big = "x" * 300_000
    r = client.post("/booklet", data={"name": big}, headers=SAME)
    assert r.status_code == 413
    r = client.post("/batch", files={"upload": ("day.csv", b"stage\n" + b"IV\n" * 1_100_000)},
                    headers=SAME)
    assert r.status_code == 413 and "booklet batch" in r.text


def test_busy_server_answers_503_and_keeps_the_answers(app_only):
    renderer = app_only.state.renderer
    renderer.waiting = renderer.capacity
    try:
        r = plain(app_only).post("/booklet", data={"stage": "IV", "name": "Sam",
                                                   "deliver": "download"}, headers=SAME)
    finally:
        renderer.waiting = 0
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "busy. Try again in a moment" in r.text and 'value="Sam"' in r.text


def test_batch_page_without_a_file(client):
    r = client.post("/batch", data={"paper": "letter"}, headers=SAME)
    assert r.status_code == 422 and "choose a CSV file" in r.text


def test_batch_refuses_an_unusable_csv(client):
    r = client.post("/batch", files={"upload": ("day.csv", b"")}, headers=SAME)
    assert r.status_code == 422 and "the CSV file is empty" in r.text


def test_fhir_hook_waits_for_the_importer(client):
    from booklet.web import fhir_hook

    html = client.get("/").text
    if fhir_hook.available():
        assert 'action="/fhir"' in html
    else:
        assert 'action="/fhir"' not in html
        assert client.post("/fhir", headers=SAME).status_code == 501


def test_a_token_is_asked_for_and_checked():
    app = create_app(Settings(host="0.0.0.0", token="a-long-access-code-0123", workers=1))
    c = TestClient(app, base_url="http://booklet.clinic.example")
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    assert c.post("/booklet", data={"stage": "IV", "preview": "1"},
                  headers={"Origin": "http://booklet.clinic.example"}).status_code == 401
    r = c.post("/sign-in", data={"token": "wrong"}, headers={"Origin": "http://booklet.clinic.example"})
    assert r.status_code == 401 and "not the access code" in r.text
    r = c.post("/sign-in", data={"token": "a-long-access-code-0123"},
               headers={"Origin": "http://booklet.clinic.example"}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.get("/").status_code == 200


def test_serve_refuses_another_host_without_a_token(monkeypatch):
    from typer.testing import CliRunner

    from booklet.cli import app

    monkeypatch.delenv("BOOKLET_WEB_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "access code" in result.output


def test_no_form_value_is_logged(client, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="booklet.web"):
        client.post("/booklet", data={"stage": "IV", "name": "Zelda Quux", "her2": "maybe",
                                      "preview": "1"}, headers=SAME)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /booklet 422" in text
    assert "Zelda" not in text and "maybe" not in text


def test_fhir_upload_fills_the_form_through_the_hook(client, monkeypatch):
    """The hook's contract with `booklet profile from-fhir` (branch fhir): a Bundle file in,
    raw profile data and notes out; the form is filled, nothing is rendered."""
    from types import SimpleNamespace

    from booklet.web import fhir_hook

    seen = {}

    def from_fhir(path, day, drug_names):
        seen["bundle"] = path.read_bytes()
        seen["exists"] = path.exists()
        return SimpleNamespace(data={"stage": "IV", "er": "positive", "pr": "positive",
                                     "her2": "negative", "menopause": "post",
                                     "biomarkers": {"pik3ca": "positive"},
                                     "current_therapies": ["letrozole", "ribociclib"]},
                               warnings=["her2: read from the report's text; check it"])

    monkeypatch.setattr(fhir_hook, "_importer", lambda: from_fhir)
    assert 'action="/fhir"' in client.get("/").text
    r = client.post("/fhir", files={"upload": ("record.json", b'{"resourceType": "Bundle"}')},
                    headers=SAME)
    assert r.status_code == 200
    assert seen["bundle"] == b'{"resourceType": "Bundle"}'
    assert 'id="f-stage-5" value="IV" checked' in r.text
    assert 'id="cur-ribociclib" value="ribociclib" checked' in r.text
    assert 'id="f-biomarkers-pik3ca-1" value="positive" checked' in r.text
    assert "check it" in r.text and "A booklet for stage IV breast cancer" in r.text
    # the uploaded record is deleted once the page is sent
    import tempfile
    from pathlib import Path

    assert not list(Path(tempfile.gettempdir()).glob("booklet-web-*/bundle.json"))


def test_prior_therapies_carry_when_they_were_given():
    posted = split([("prior_therapies", "tamoxifen"), ("prior_setting.tamoxifen", "after-surgery"),
                    ("prior_therapies", "letrozole"), ("prior_setting.letrozole", ""),
                    ("prior_setting.docetaxel", "before-surgery")])  # not ticked: ignored
    assert posted.data == {"prior_therapies": [{"drug": "tamoxifen", "setting": "after-surgery"},
                                               "letrozole"]}
    from booklet.web.form import profile_from_values

    values = profile_from_values({"prior_therapies": [{"drug": "tamoxifen",
                                                       "setting": "after-surgery"}]})
    assert values == {"prior_therapies": ["tamoxifen"],
                      "prior_setting.tamoxifen": ["after-surgery"]}


def test_the_real_fhir_importer_fills_the_form(client):
    """With branch fhir merged: the bundled example record fills the form, settings kept."""
    from booklet.web import fhir_hook

    if not fhir_hook.available():
        pytest.skip("the FHIR importer is not installed")
    from conftest import ROOT

    bundle = (ROOT / "examples" / "fhir" / "stage-iv-bone-liver.json").read_bytes()
    r = client.post("/fhir", files={"upload": ("record.json", bundle)}, headers=SAME)
    assert r.status_code == 200, r.text[:500]
    html = r.text
    assert 'id="f-stage-5" value="IV" checked' in html
    assert 'id="prior-tamoxifen" value="tamoxifen" checked' in html
    assert '<option value="after-surgery" selected>' in html
    assert "stage IV is used" in html  # the importer's warning, to check
    assert "A booklet for stage IV breast cancer" in html
