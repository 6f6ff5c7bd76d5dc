// Runs each case of the JSON file named on the command line through @cloud-copilot/iam-simulate and
// prints one verdict per case (a JSON list, same order): Allowed, ImplicitlyDenied, ExplicitlyDenied,
// or {"error": ...} when the simulator rejects the request (an unknown action, a resource type the
// action does not take). Used by local/iam/tests/crosscheck.rs; installed by .ci/iam-crosscheck.sh.
'use strict'
const fs = require('fs')
// Resolved from this folder's node_modules (npm ci here).
const { runSimulation } = require('@cloud-copilot/iam-simulate')

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
  const out = []
  for (const c of cases) {
    const simulation = {
      identityPolicies: c.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: c.principal,
        action: c.action,
        resource: { resource: c.resource, accountId: c.accountId },
        contextVariables: c.context
      }
    }
    if (c.resourcePolicy) simulation.resourcePolicy = c.resourcePolicy
    const r = await runSimulation(simulation, {})
    if (r.resultType === 'error') out.push({ error: r.errors })
    else if (r.resultType === 'single') out.push(r.overallResult)
    else out.push({ error: `unexpected resultType ${r.resultType}` })
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
