#!/usr/bin/env bash
# The cross-check with an ASL engine nobody here wrote: statemachine/pipeline.asl.json (after template.yaml's
# DefinitionSubstitutions) runs under aws-local-stepfunctions, its Lambda tasks calling our handlers through
# the local cloud's Lambda Invoke API, and under our engine (local/sfn); local/stack/tests/crosscheck.rs
# asserts the same states entered, Lambda invocations, outcome and output, on the success path and on a
# failed customization job.
#
# The engine needs Node 22 (the npm package `node` brings a binary of it); both go into .ci/crosscheck/
# (ignored by git), pinned to the versions verified here. The test skips itself when they are missing; here
# CROSSCHECK_REQUIRED=1 turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE_VERSION=3.0.0
NODE_VERSION=22.23.3
DIR=.ci/crosscheck
NODE="$PWD/$DIR/node_modules/.bin/node"
ENGINE_PACKAGE="$DIR/node_modules/aws-local-stepfunctions/package.json"

installed_engine() { [ -x "$NODE" ] && "$NODE" -p "require('./$ENGINE_PACKAGE').version" 2>/dev/null; }

mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || printf '{"private": true}\n' >"$DIR/package.json"
if [ "$(installed_engine)" != "$ENGINE_VERSION" ] || [ "$("$NODE" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  npm install --prefix "$DIR" --no-audit --no-fund --silent \
    "aws-local-stepfunctions@$ENGINE_VERSION" "node@$NODE_VERSION"
fi
# The `node` package fetches its binary in an install script; make sure it did.
[ "$("$NODE" --version)" = "v$NODE_VERSION" ] || { echo "node $NODE_VERSION did not install at $NODE" >&2; exit 1; }
[ "$(installed_engine)" = "$ENGINE_VERSION" ] || { echo "aws-local-stepfunctions $ENGINE_VERSION missing" >&2; exit 1; }
echo "node $("$NODE" --version), aws-local-stepfunctions $(installed_engine)"

export CROSSCHECK_NODE="$NODE" CROSSCHECK_NODE_MODULES="$PWD/$DIR/node_modules" CROSSCHECK_REQUIRED=1
cargo test -p local-stack --locked --test crosscheck -- --nocapture
