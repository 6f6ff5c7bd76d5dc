#!/usr/bin/env bash
# report.html in a real browser: Debian's chromium driven by playwright-core opens the sample reports that
# shared/tests/report_browser.rs renders and the page of a real local run (`finetune run` on the sample,
# cli/tests/report_browser.rs), and .ci/browser-check.cjs checks the charts, tables, escaping, console
# and screenshot.
#
# chromium comes from apt (Debian's package: playwright never downloads a browser of its own here);
# playwright-core goes into .ci/browser/ (ignored by git), pinned to the version verified here. The test
# skips itself when they are missing; here BROWSER_CHECK_REQUIRED=1 turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION=1.65.1
DIR=.ci/browser
CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null | grep -v '^\[' || { echo "chromium did not install at $CHROMIUM" >&2; exit 1; }

installed() { node -p "require('./$DIR/node_modules/playwright-core/package.json').version" 2>/dev/null; }
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || printf '{"private": true}\n' >"$DIR/package.json"
if [ "$(installed)" != "$PLAYWRIGHT_VERSION" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$DIR" --no-audit --no-fund --silent \
    "playwright-core@$PLAYWRIGHT_VERSION"
fi
[ "$(installed)" = "$PLAYWRIGHT_VERSION" ] || { echo "playwright-core $PLAYWRIGHT_VERSION missing" >&2; exit 1; }
echo "node $(node --version), playwright-core $(installed)"

export BROWSER_CHECK_NODE_MODULES="$PWD/$DIR/node_modules" BROWSER_CHECK_CHROMIUM="$CHROMIUM" BROWSER_CHECK_REQUIRED=1
cargo test -p shared --locked --test report_browser -- --nocapture
cargo test -p cli --locked --test report_browser -- --nocapture
