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

pub const REPORT: &str = "\
Examples:
  finetune report support-tickets-0123abcd
  finetune report support --open
  finetune report support-tickets-0123abcd --data-dir runs-dir
  finetune report support-tickets-0123abcd --stack finetune --open
  finetune report support-tickets-0123abcd --local .local-cloud --out page.html

report.html is one self-contained page (loss curves, metrics base vs custom, example answers, state
timeline, cost, gate verdict); it loads nothing from the network.

Exit status:
  0    the path was printed (or the page opened)
  2    usage error: no such run in the data folder, or a prefix matching several; AWS refused the
       credentials or the permission (--stack)
  3    the run has no report.html, or the browser could not be started
  141  stdout was closed by its reader (`| head`); nothing more is printed";

pub const SAMPLE: &str = "\
Examples:
  finetune sample --task classification --records 200 --out tickets.jsonl
  finetune sample --task qa --model amazon.nova-2-lite-v1:0:256k --type reinforcement-fine-tuning --out qa.jsonl
  finetune sample --task qa --model amazon.titan-text-express-v1 | head -3

Writes synthetic records in the format the model and type take (valid for `finetune validate`); the
same seed gives the same records. Without --out the records go to stdout.

Exit status:
  0    the dataset was written
  2    usage error: an unknown model or task, a type the model does not support, too few or too many
       records for the model, --json without --out
  3    the file could not be written
  141  stdout was closed by its reader (`| head`); nothing more is printed";

pub const PRESETS: &str = "\
Examples:
  finetune presets amazon.titan-text-express-v1
  finetune presets amazon.nova-2-lite-v1:0:256k --type reinforcement-fine-tuning --json
  finetune run data.jsonl --preset conservative

Presets are defined by intent (conservative: more epochs, lower rate, longer warmup; aggressive: the
opposite) and sent as the blog guide's numbers where the model takes them, the nearest valid values
elsewhere. moderate applies when a run gives neither a preset nor hyperparameters; hyperparameters
in the config override a preset key by key.

Exit status:
  0    the table was printed
  2    usage error: an unknown model, or a type the model does not support
  3    the result could not be written
  141  stdout was closed by its reader (`| head`); nothing more is printed";

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
