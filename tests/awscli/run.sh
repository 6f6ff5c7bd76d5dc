#!/usr/bin/env bash
# A second client nobody here wrote: the AWS command line client (v1, pinned in
# tests/awscli/requirements.txt, installed into tests/awscli/.venv, ignored by git) against
# `finetune local serve`, reached only through the standard variables of DIR/env. It uploads a dataset
# under incoming/ (the bucket notification starts a run), lists the bucket, the foundation models and
# the executions, reads the execution's history, the training job (Completed, with trainingMetrics) and
# its loss CSV, and asks a base model through Converse. Any shape the CLI rejects fails this script.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=tests/awscli/.venv
REQUIREMENTS=tests/awscli/requirements.txt
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! diff -q <("$VENV/bin/pip" freeze 2>/dev/null | sort -f) <(grep -v '^#' "$REQUIREMENTS" | sort -f) >/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
fi
"$VENV/bin/aws" --version

cargo build -q --locked -p cli --bin finetune
DIR="$(mktemp -d)"
LOG="$DIR.serve.log"
SERVER=""
cleanup() {
  kill -INT "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DIR" "$LOG"
}
trap cleanup EXIT
start_server() {
  rm -f "$DIR/env"
  target/debug/finetune local serve --data-dir "$DIR" --port 0 >/dev/null 2>"$LOG" &
  SERVER=$!
  for _ in $(seq 1 600); do
    [ -s "$DIR/env" ] && return 0
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; echo "finetune local serve exited" >&2; exit 1; }
    sleep 0.1
  done
  cat "$LOG" >&2; echo "no $DIR/env after 60 s" >&2; exit 1
}
start_server
# A clean environment but for what DIR/env says: no developer's AWS settings leak in.
client() {
  env -i PATH="$PATH" HOME="$DIR" AWS="$PWD/$VENV/bin/aws" DATASET="$PWD/examples/support-tickets.jsonl" \
    bash -euo pipefail -c ". '$DIR/env' && $1" \
    || { echo "--- finetune local serve's stderr:" >&2; cat "$LOG" >&2; exit 1; }
}
client ". tests/awscli/flow.sh"

# A clean stop (Ctrl-C) and a new server on the same DIR: the run, its job and model are still there.
kill -INT "$SERVER"
wait "$SERVER"
start_server
client '"$AWS" --output text stepfunctions list-executions --state-machine-arn "$StateMachineArn" --query "executions[].status" | grep -qx SUCCEEDED \
  && "$AWS" --output text bedrock list-model-customization-jobs --query "modelCustomizationJobSummaries[].status" | grep -qx Completed \
  && "$AWS" --output text bedrock list-custom-models --query "modelSummaries[].modelName" | grep -q . \
  && echo "ok: after a restart on the same DIR, the execution, its job and its custom model are listed"'
