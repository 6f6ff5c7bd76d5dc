//! `--help` blocks of the operating commands (examples, then the exit status), beside the others'
//! in `cli/src/help.rs`.

pub const LOCAL_SERVE: &str = "\
Examples:
  finetune local serve                       # ports 4590-4594, data in .local-cloud/
  . .local-cloud/env && python my_boto3_script.py
  finetune submit data.jsonl --local --wait
  finetune local serve --data-dir /tmp/lc --port 0 --fault throttle=0.2

Prints, and writes to DIR/env, `export` lines: AWS_ENDPOINT_URL_S3, _BEDROCK, _BEDROCK_RUNTIME, _SFN,
_LAMBDA, _SNS, AWS_REGION, the test credentials, and the stack outputs BucketName, StateMachineArn,
TopicArn and BedrockServiceRoleArn. Each Bedrock status read moves the virtual clock 5 minutes, so a
job polled every second finishes in seconds. The bucket stays in DIR across restarts; jobs, models,
throughputs and executions are in memory and end with the server.

Exit status:
  0    stopped by Ctrl-C
  2    usage error (a bad --fault spec)
  3    the local cloud could not start (a port in use: pass --port N)";

pub const SUBMIT: &str = "\
Examples:
  finetune submit data.jsonl --stack finetune --region us-east-1
  finetune submit data.jsonl --config pipeline.json --preset conservative --stack finetune --wait
  finetune submit data.jsonl --local --wait --json | jq .status

The dataset is validated here first (against the config's model); nothing is uploaded when it or the
config is invalid. It is then uploaded under incoming/ (with the config as its sidecar), and the
bucket notification starts the run.

Exit status:
  0    the run started (with --wait: it SUCCEEDED)
  1    with --wait: the run FAILED, TIMED_OUT or was ABORTED
  2    usage error: an invalid dataset or config, no stack or credentials, an unknown region
  3    the upload failed, or no run started within 90 s";

pub const RUNS: &str = "\
Examples:
  finetune runs --stack finetune
  finetune runs --local --status running
  finetune runs --stack finetune --json | jq -r '.runs[].run_id'

Exit status:
  0    listed (perhaps none)
  2    usage error: no stack or credentials, an unknown region
  3    the list could not be read";

pub const STATUS: &str = "\
Examples:
  finetune status support-tickets-0c1d2e3f4a5b6c7d8e9f --stack finetune
  finetune status support-tickets-0c1d2e3f4a5b6c7d8e9f --local --watch
  finetune status RUN --stack finetune --json | jq '.left_billing'

Exit status:
  0    the run SUCCEEDED, or is still RUNNING (without --watch)
  1    the run FAILED, TIMED_OUT or was ABORTED
  2    usage error: no such run, no stack or credentials
  3    Ctrl-C stopped the watching (the run goes on), or the run could not be read";

pub const STOP: &str = "\
Examples:
  finetune stop support-tickets-0c1d2e3f4a5b6c7d8e9f --stack finetune

Stops the execution; teardown then deletes what the run deployed.

Exit status:
  0    stopped
  2    usage error: no such run, no stack or credentials
  3    it could not be stopped";

pub const METRICS: &str = "\
Examples:
  finetune metrics RUN --stack finetune
  finetune metrics RUN --local --csv > losses.csv
  finetune metrics RUN --stack finetune --json | jq '.validation[-1].loss'

Reads training_artifacts/step_wise_training_metrics.csv and
validation_artifacts/post_fine_tuning_validation/validation_metrics.csv under the job's output.

Exit status:
  0    shown
  2    usage error: no stack or credentials
  3    the job has written no metrics yet, or they could not be read";

pub const ASK: &str = "\
Examples:
  finetune ask RUN 'I need a return label for order 30445' --stack finetune
  finetune ask amazon.nova-micro-v1:0 'Hello' --local
  finetune ask arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc 'Hi' --stack finetune --json

MODEL: a run id (its deployment), a deployment or provisioned model ARN, or a base model id.

Exit status:
  0    answered
  2    usage error: no such model or run, a run without deployment, no credentials
  3    the model did not answer";

pub const COMPARE: &str = "\
Examples:
  finetune compare RUN --base amazon.nova-micro-v1:0 --prompts prompts.txt --stack finetune
  finetune compare RUN --base amazon.nova-micro-v1:0 --prompts held-out.jsonl --local --json

Asks each prompt of the file to the tuned model and to the base, through Converse, and shows the
answers side by side with latency and token counts.

Exit status:
  0    compared
  2    usage error: no prompts, no such model or run, no credentials
  3    a model did not answer";

pub const COST: &str = "\
Examples:
  finetune cost RUN --stack finetune
  finetune cost RUN --local --json | jq .still_billing

Training tokens x epochs x the catalogue's price, the provisioned throughput's hours x its rate,
Step Functions and Lambda requests; then what bills now.

Exit status:
  0    shown
  2    usage error: no such run, no stack or credentials
  3    the run could not be read";
