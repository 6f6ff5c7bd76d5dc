//! What `--help` shows after the options: examples, then the exit status. One block per command,
//! so a new command adds its own and the exit codes are spelled the same everywhere.

/// The top level.
pub const MAIN: &str = "\
Examples:
  finetune validate data.jsonl --model amazon.nova-micro-v1:0:128k
  finetune prepare data.jsonl --model amazon.nova-micro-v1:0:128k --out prepared/
  finetune run examples/support-tickets.jsonl
  finetune models --type fine-tuning

Results go to stdout, progress and errors to stderr; `--json` prints one JSON document.
Exit status: 0 success, 1 negative verdict (invalid dataset, failed run), 2 usage error,
3 could not finish (e.g. output not writable), 141 stdout closed by its reader (`| head`).
`finetune <command> --help` gives each command's examples.";

pub const VALIDATE: &str = "\
Examples:
  finetune validate data.jsonl --model amazon.nova-micro-v1:0:128k
  finetune validate data.jsonl --model amazon.titan-text-express-v1 --type continued-pre-training
  finetune validate data.jsonl --model amazon.nova-micro-v1:0 --json | jq '.errors[:3]'

Exit status:
  0    the dataset is valid (warnings may be listed)
  1    the dataset is not valid: the errors name the line, the field and what to do
  2    usage error: bad flags, a missing or unreadable file, an unknown model or type
  3    the result could not be written (e.g. a full disk)
  141  stdout was closed by its reader (`| head`); nothing more is printed";

pub const PREPARE: &str = "\
Examples:
  finetune prepare data.jsonl --model amazon.nova-micro-v1:0:128k --out prepared/
  finetune prepare data.jsonl --model amazon.nova-micro-v1:0 --out prepared/ --validation-ratio 0.2 --seed 7
  finetune prepare data.jsonl --model amazon.nova-micro-v1:0 --out prepared/ --validation-file held-out.jsonl

Writes DIR/train.jsonl, DIR/validation.jsonl and DIR/report.json; an invalid dataset writes only the
report. The input file is never modified.

Exit status:
  0    the dataset is valid and the split was written
  1    the dataset is not valid: only DIR/report.json was written
  2    usage error: bad flags, a missing or unreadable file, an unknown model, --out is the input's folder
  3    the files or the result could not be written (e.g. a full disk)
  141  stdout was closed by its reader (`| head`)";

pub const RUN: &str = "\
Examples:
  finetune run examples/support-tickets.jsonl
  finetune run data.jsonl --model amazon.titan-text-lite-v1:0:4k --deployment provisioned
  finetune run data.jsonl --config examples/pipeline.json --json > outcome.json
  finetune run data.jsonl --fault deployment-failed     # see the teardown after a failed deployment
  finetune run data.jsonl --force                       # a new run, the earlier ones kept
  finetune run data.jsonl --template my-template.yaml   # try a changed stack; IAM is enforced as on AWS
  finetune run data.jsonl --parameter DeploymentMode=none   # play operator: a template parameter

The same file with the same settings in the same --data-dir shows the earlier run and starts no
second job; a different --fault, or a config (file or flags) that changes what runs, is a new run. Times are the local cloud's virtual
clock: a training job of hours passes in milliseconds. Bedrock is emulated: its models are
deterministic stand-ins, and everything showing their answers says so.

Exit status:
  0    the run SUCCEEDED
  1    the run FAILED (or TIMED_OUT, ABORTED): the errors say why, e.g. the dataset's lines, or
       AccessDenied naming the action a role of the template is not allowed
  2    usage error: bad flags, a missing file, an invalid config or fault spec, an unknown
       --parameter (nothing was started)
  3    the run could not be completed or shown (the local cloud failed, output not writable)
  141  stdout was closed by its reader (`| head`)";

pub const MODELS: &str = "\
Examples:
  finetune models
  finetune models --type continued-pre-training
  finetune models --json | jq '.[] | select(.on_demand_deployment) | .id'

Exit status:
  0    the list was printed
  2    usage error: bad flags
  3    the list could not be written
  141  stdout was closed by its reader (`| head`)";
