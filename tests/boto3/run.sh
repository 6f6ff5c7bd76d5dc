#!/usr/bin/env bash
# The wire checked by a client nobody here wrote: the official Python SDK (boto3, pinned in
# tests/boto3/requirements.txt, installed into tests/boto3/.venv, ignored by git) runs the blog guide's
# flow (tests/boto3/guide_flow.py) against `finetune local serve`, reached only through the standard
# variables of DIR/env. Any shape boto3 rejects fails this script.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=tests/boto3/.venv
REQUIREMENTS=tests/boto3/requirements.txt
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! diff -q <("$VENV/bin/pip" freeze 2>/dev/null | sort) <(grep -v '^#' "$REQUIREMENTS" | sort) >/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
fi
echo "boto3 $("$VENV/bin/python" -c 'import boto3; print(boto3.__version__)')"

cargo build -q --locked -p cli --bin finetune
DIR="$(mktemp -d)"
LOG="$DIR.serve.log"
target/debug/finetune local serve --data-dir "$DIR" --port 0 >/dev/null 2>"$LOG" &
SERVER=$!
cleanup() {
  kill -INT "$SERVER" 2>/dev/null || true
  # Bounded: a clean stop that hangs (seen once under load, not yet explained) must not hang CI; the
  # AWS CLI test asserts the stop-and-restart itself.
  for _ in $(seq 1 600); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER" 2>/dev/null; then
    echo "WARNING: finetune local serve did not stop within 60 s of Ctrl-C; killed. Its stderr:" >&2
    tail -20 "$LOG" >&2
    kill -9 "$SERVER" 2>/dev/null || true
  fi
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DIR" "$LOG"
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  [ -s "$DIR/env" ] && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; echo "finetune local serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -s "$DIR/env" ] || { cat "$LOG" >&2; echo "no $DIR/env after 60 s" >&2; exit 1; }

# A clean environment but for what DIR/env says: no developer's AWS settings leak in.
env -i PATH="$PATH" HOME="$DIR" bash -c ". '$DIR/env' && exec '$VENV/bin/python' tests/boto3/guide_flow.py examples/support-tickets.jsonl" \
  || { echo "--- finetune local serve's stderr:" >&2; cat "$LOG" >&2; exit 1; }
