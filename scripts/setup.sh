#!/usr/bin/env bash
# Shared set-up for scripts/render-example and scripts/test: system libraries WeasyPrint
# and the tests need (Debian), then a virtual environment in .venv with booklet installed.
# Says what it does; a second run with nothing to do takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "set-up: $*" >&2; }

need=()
# grep reads all of ldconfig's output: `grep -q` stops at the first match, and with pipefail
# the SIGPIPE that gives ldconfig counted as "missing" (apt-get then ran every time)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
ldconfig -p 2>/dev/null | grep libpangoft2-1.0 >/dev/null || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep libharfbuzz-subset >/dev/null || need+=(libharfbuzz-subset0)
# the browser tests of `booklet serve` drive Debian's Chromium (never a downloaded browser);
# BOOKLET_NO_BROWSER=1 skips it where only the command line is wanted
if [ "${BOOKLET_NO_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      say "needs the Debian packages ${need[*]}: run this as root, or install them with apt-get as root"
      exit 1
    fi
    sudo="sudo"
    say "installing Debian packages with sudo apt-get (you may be asked for your password): ${need[*]}"
  else
    say "installing Debian packages with apt-get: ${need[*]}"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment .venv"
  python3 -m venv .venv
fi
# pip runs again only when pyproject.toml changed (the install is editable: code and
# content changes need no reinstall)
stamp=.venv/.booklet-setup
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/booklet ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing booklet and its Python packages into .venv (a minute or two the first time)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/booklet --version >/dev/null
  echo "$want" > "$stamp"
  say "done: run booklet as .venv/bin/booklet (or '. .venv/bin/activate', then booklet)"
else
  say "ready (.venv is up to date)"
fi
