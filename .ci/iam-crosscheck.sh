#!/usr/bin/env bash
# The cross-check of local-iam's evaluator with one nobody here wrote: local/iam/tests/crosscheck.rs
# decides every Allow statement template.yaml resolves to, each function's calls and its neighbours',
# and a table of edge cases (tags, PassRole, SourceArn, NotAction, explicit denies, wildcards) with our
# `decide` and with @cloud-copilot/iam-simulate, and asserts the same verdicts.
#
# The simulator is installed with `npm ci` into .ci/iam-crosscheck/ from its package-lock.json (every
# version pinned; node_modules is ignored by git) and run by the Node of the machine (Debian's nodejs).
# The test skips itself when the package is missing; here IAM_CROSSCHECK_REQUIRED=1 turns a skip into a
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=.ci/iam-crosscheck
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "node and npm are needed (Debian: apt-get install nodejs npm)" >&2
  exit 1
}
npm ci --prefix "$DIR" --no-audit --no-fund --silent
version="$(node -p "require('./$DIR/node_modules/@cloud-copilot/iam-simulate/package.json').version")"
[ "$version" = "$(node -p "require('./$DIR/package.json').dependencies['@cloud-copilot/iam-simulate']")" ] || {
  echo "@cloud-copilot/iam-simulate $version is not the pinned version" >&2
  exit 1
}
echo "node $(node --version), @cloud-copilot/iam-simulate $version"

export IAM_CROSSCHECK_DIR="$PWD/$DIR" IAM_CROSSCHECK_REQUIRED=1
cargo test -p local-iam --locked --test crosscheck -- --nocapture
