// Runs one execution under aws-local-stepfunctions (an ASL engine nobody here wrote) and prints what the
// cross-check compares, one JSON object per line: each state entered, then the outcome.
//
//   NODE_PATH=<node_modules with aws-local-stepfunctions> node driver.cjs <definition.json> <overrides.json>
//   (execution input on stdin)
//
// Its CLI (local-sfn) prints only the execution's result, not the states it went through; the library's
// event log has them, so this uses the library with the CLI's -w/-r overrides given as a JSON object
// {"waits": {State: ms}, "retries": {State: ms}}. Lambda tasks go to the Invoke API at
// AWS_ENDPOINT_URL_LAMBDA, with region and credentials from the environment, as on AWS.
'use strict';

const fs = require('node:fs');
const { StateMachine } = require('aws-local-stepfunctions');

async function main() {
  const [definitionPath, overridesPath] = process.argv.slice(2);
  const definition = JSON.parse(fs.readFileSync(definitionPath, 'utf8'));
  const overrides = JSON.parse(fs.readFileSync(overridesPath, 'utf8'));
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));

  const machine = new StateMachine(definition);
  // The context object as Step Functions gives it: the pipeline takes its run id from $$.Execution.Name,
  // and Finalize passes teardown $$.Execution.Id.
  const execution = machine.run(input, {
    context: { Execution: { Id: process.env.EXECUTION_ARN, Name: process.env.EXECUTION_NAME, Input: input } },
    overrides: { waitTimeOverrides: overrides.waits, retryIntervalOverrides: overrides.retries },
  });
  // The outcome comes from the event log; the promise's rejection is that same failure.
  execution.result.catch(() => {});

  const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');
  for await (const event of execution.eventLogs) {
    switch (event.type) {
      case 'StateEntered':
        print({ entered: event.state.name });
        break;
      case 'StateRetried':
        print({ retried: event.state.name });
        break;
      case 'ExecutionSucceeded':
        print({ status: 'SUCCEEDED', output: event.output });
        break;
      case 'ExecutionFailed':
        print({ status: 'FAILED', error: event.Error, cause: event.Cause });
        break;
      case 'ExecutionTerminated':
        print({ status: 'ABORTED' });
        break;
    }
  }
}

main().catch((error) => {
  process.stderr.write(`driver: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
