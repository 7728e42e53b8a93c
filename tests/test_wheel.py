"""A non-editable `pip install .` carries templates, content, fonts and examples.

Builds the wheel, installs it into a fresh virtual environment (reusing this
environment's installed dependencies, so no download is needed), and renders the
bundled example from another folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.render


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    return next(dist.glob("booklet-*.whl"))


def test_wheel_holds_the_assets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("booklet/_assets/templates/booklet.html.j2", "booklet/_assets/templates/booklet.css",
                   "booklet/_assets/content/en/ui.yaml", "booklet/_assets/fonts/OFL.txt",
                   "booklet/_assets/examples/stage-iv-hr-pos-her2-pos.yaml",
                   "booklet/fhir/codes/conditions.yaml", "booklet/fhir/codes/medications.yaml",
                   "booklet/_assets/examples/fhir/stage-iv-bone-liver.json",
                   "booklet/_assets/templates/web/form.html.j2",  # booklet serve
                   "booklet/_assets/templates/web/static/web.js"):
        assert needed in names, needed
    assert any(n.startswith("booklet/_assets/content/en/drugs/") for n in names)


def test_installed_wheel_renders_from_another_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # Dependencies come from this environment; the package itself only from the wheel.
    site = sysconfig.get_paths()["purelib"]
    (Path(subprocess.run([str(py), "-c", "import sysconfig;print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip())
     / "deps.pth").write_text(site + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    out = subprocess.run([str(venv / "bin" / "booklet"), "render", "--example", "stage-iv-hr-pos-her2-pos",
                          "-o", "b.pdf", "--date", "2026-12-04"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (work / "b.pdf").read_bytes().startswith(b"%PDF")
    where = subprocess.run([str(py), "-c", "import booklet.assets as a; print(a.root())"], cwd=work,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert "_assets" in where and str(ROOT) not in where
