#!/usr/bin/env bash
# Static audit of the stack's IAM: every policy document template.yaml resolves to (local-iam's
# `iam-policies` dump: identity, trust and resource policies, SAM's expansions included) goes through
# parliament (PyPI, pinned with its dependencies in .ci/iam-audit-requirements.txt, installed into
# .ci/.venv-parliament, ignored by git). Every finding must be explained by a line of
# .ci/iam-audit-allow.txt, and every line there must still explain a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/.venv-parliament
REQUIREMENTS=.ci/iam-audit-requirements.txt
ALLOW=.ci/iam-audit-allow.txt

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! diff -q <("$VENV/bin/pip" freeze 2>/dev/null | sort) <(grep -v '^#' "$REQUIREMENTS" | sort) >/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
fi
echo "parliament $("$VENV/bin/pip" show parliament | awk '/^Version/ {print $2}')"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run -q -p local-iam --locked --bin iam-policies -- --template template.yaml "$out"
# Again as an operator with a KMS key and a VPC: the statements the template adds only then.
cargo run -q -p local-iam --locked --bin iam-policies -- --template template.yaml \
  --parameter KmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab \
  --parameter VpcSubnetIds=subnet-0a1b2c3d,subnet-4e5f6a7b --parameter VpcSecurityGroupIds=sg-0a1b2c3d \
  "$out/kms-vpc"

"$VENV/bin/python" - "$out" "$ALLOW" "$VENV/bin/parliament" <<'PY'
import fnmatch, glob, json, os, subprocess, sys
from collections import Counter

out, allow_file, parliament = sys.argv[1:4]
allow = []
for number, line in enumerate(open(allow_file), 1):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    parts = [p.strip() for p in line.split("|")]
    if len(parts) != 4 or not parts[0] or not parts[1] or not parts[3]:
        sys.exit(f"{allow_file}:{number}: expected `ISSUE | file pattern | detail contains | reason`")
    allow.append((number, *parts))

used, unexplained, counts = set(), [], Counter()
files = sorted(glob.glob(os.path.join(out, "*.json")) + glob.glob(os.path.join(out, "kms-vpc", "*.json")))
for path in files:
    name = os.path.basename(path)
    # --string: parliament refuses --file when stdin is not a terminal, as in CI.
    run = subprocess.run([parliament, "--string", open(path).read(), "--json"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if run.returncode not in (0, 1):
        sys.exit(f"parliament failed on {name}: {run.stderr}")
    for line in run.stdout.splitlines():
        finding = json.loads(line)
        issue, detail = finding["issue"], json.dumps(finding.get("detail"))
        counts[issue] += 1
        reason = next((a for a in allow if a[1] == issue and fnmatch.fnmatch(name, a[2]) and a[3] in detail), None)
        if reason:
            used.add(reason[0])
        else:
            unexplained.append(f"  {finding['severity']:<8} {issue:<18} {name}: {finding.get('title')} {detail}")

print(f"{len(files)} policy documents, {sum(counts.values())} findings: "
      + (", ".join(f"{n} {issue}" for issue, n in sorted(counts.items())) or "none"))
stale = [f"  {allow_file}:{a[0]}: {a[1]} | {a[2]} | {a[3]}" for a in allow if a[0] not in used]
if unexplained:
    print("findings no line of " + allow_file + " explains:\n" + "\n".join(unexplained))
if stale:
    print("lines of " + allow_file + " that explain no finding any more (remove them):\n" + "\n".join(stale))
if unexplained or stale:
    sys.exit(1)
print("every finding is explained in " + allow_file)
PY
