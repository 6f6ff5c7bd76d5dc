#!/usr/bin/env bash
# Independent checks, by tools nobody here wrote: the SAM template (sam validate --lint, cfn-lint,
# checkov), the state machine definition (asl-validator, after DefinitionSubstitutions), and the
# Lambda release build (cargo-lambda for arm64, with each bootstrap's size).
#
# Tools go into folders this script owns (.ci/.venv, .ci/node; both ignored by git), pinned to the
# versions verified here. No AWS credentials are needed: only a region.
#
#   SKIP_LAMBDA_BUILD=1  skip the release build (about 7+ minutes on 2 cores)
#   SAM_BUILD=1          also run `sam build` (cargo-lambda through SAM), after the release build
set -euo pipefail
cd "$(dirname "$0")/.."

PY_TOOLS=(aws-sam-cli==1.170.0 cfn-lint==1.58.0 checkov==3.2.459 cargo-lambda==1.9.2)
NODE_TOOLS=(asl-validator@4.0.0)
FUNCTIONS=(validate-split start-job check-status provision evaluate teardown reaper grader)
# A bootstrap above this is reported (cold starts grow with size; issue 12 asks for 8 MiB at most); the
# build still passes.
SIZE_GOAL_BYTES=$((8 * 1024 * 1024))

export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_REGION="${AWS_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY=0 BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
VENV=.ci/.venv
NODE_DIR=.ci/node

step() { printf '\n---- %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "install tools"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# pip's resolver is slow on sam + checkov; skip it when the pinned versions are already there.
installed="$("$VENV/bin/pip" freeze 2>/dev/null || true)"
for tool in "${PY_TOOLS[@]}"; do
  if ! grep -qixF "$tool" <<<"$installed"; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
    break
  fi
done
mkdir -p "$NODE_DIR"
[ -f "$NODE_DIR/package.json" ] || printf '{"private": true}\n' >"$NODE_DIR/package.json"
if [ ! -x "$NODE_DIR/node_modules/.bin/asl-validator" ]; then
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent "${NODE_TOOLS[@]}"
fi
export PATH="$PWD/$VENV/bin:$PWD/$NODE_DIR/node_modules/.bin:$PATH"
printf '%s\n' "sam $(sam --version | awk '{print $NF}')" "$(cfn-lint --version)" "checkov $(checkov --version)" \
  "asl-validator $(asl-validator --version)" "$("$VENV/bin/pip" show cargo-lambda | grep -i '^version' | sed 's/Version:/cargo-lambda/')"

step "sam validate --lint"
sam validate --lint --template template.yaml

step "cfn-lint"
cfn-lint template.yaml

step "checkov (CloudFormation; skips are in the template's Metadata, each with its reason)"
checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

step "asl-validator (the definition after DefinitionSubstitutions)"
definition="$(mktemp --suffix=.asl.json)"
trap 'rm -f "$definition"' EXIT
# Every placeholder of the definition must be a DefinitionSubstitution of the template, and back;
# each becomes a well-formed fake Lambda ARN, as CloudFormation would make it.
"$VENV/bin/python" - "$definition" <<'PY'
import re, sys
from cfnlint.decode import decode
template, problems = decode("template.yaml")
if problems:
    sys.exit(f"template.yaml does not parse: {problems}")
given = set(template["Resources"]["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"])
text = open("statemachine/pipeline.asl.json").read()
used = set(re.findall(r"\$\{(\w+)\}", text))
if used != given:
    sys.exit(f"placeholders without substitution: {sorted(used - given)}; substitutions never used: {sorted(given - used)}")
text = re.sub(r"\$\{(\w+)\}", lambda m: f"arn:aws:lambda:us-east-1:123456789012:function:{m.group(1)}", text)
open(sys.argv[1], "w").write(text)
print(f"{len(used)} substitutions, all used")
PY
asl-validator --json-path "$definition"

if [ "${SKIP_LAMBDA_BUILD:-}" = "1" ]; then
  step "cargo lambda build: skipped (SKIP_LAMBDA_BUILD=1)"
  exit 0
fi

step "cargo lambda build --release --arm64 (${FUNCTIONS[*]})"
bins=()
for f in "${FUNCTIONS[@]}"; do bins+=(--bin "$f"); done
start=$(date +%s)
cargo lambda build --release --arm64 "${bins[@]}"
echo "release build: $(($(date +%s) - start)) s"
over=0
for f in "${FUNCTIONS[@]}"; do
  boot="target/lambda/$f/bootstrap"
  [ -f "$boot" ] || { echo "missing $boot" >&2; exit 1; }
  size=$(stat -c %s "$boot")
  note=""
  [ "$size" -le "$SIZE_GOAL_BYTES" ] || note="  (above the 8 MiB goal)"
  awk -v f="$f" -v s="$size" -v n="$note" 'BEGIN { printf "%-15s %6.2f MB%s\n", f, s / 1048576, n }'
  [ "$size" -le "$SIZE_GOAL_BYTES" ] || over=$((over + 1))
done
[ "$over" -eq 0 ] || echo "note: $over bootstrap(s) above the 8 MiB goal"

if [ "${SAM_BUILD:-}" = "1" ]; then
  step "sam build (rust-cargolambda, offline)"
  start=$(date +%s)
  sam build --template template.yaml --beta-features
  echo "sam build: $(($(date +%s) - start)) s"
fi
