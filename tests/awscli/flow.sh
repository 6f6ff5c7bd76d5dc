# The AWS CLI's half of tests/awscli/run.sh, sourced in an environment holding only DIR/env's variables,
# $AWS (the pinned client) and $DATASET. Each step checks what the CLI parsed, not only its exit code.
aws() { "$AWS" --output text "$@"; }
fail() { echo "awscli check failed: $*" >&2; exit 1; }
check() { echo "ok: $*"; }

# S3: upload (the notification starts a run), list, read back byte for byte.
aws s3 cp --only-show-errors "$DATASET" "s3://$BucketName/incoming/tickets.jsonl"
aws s3 ls "s3://$BucketName/incoming/" | grep -q ' tickets.jsonl$' || fail "s3 ls does not list incoming/tickets.jsonl"
aws s3 cp --only-show-errors "s3://$BucketName/incoming/tickets.jsonl" "$HOME/back.jsonl"
cmp -s "$DATASET" "$HOME/back.jsonl" || fail "s3 cp down differs from what went up"
check "s3 cp up and down, s3 ls"

models="$(aws bedrock list-foundation-models --query 'modelSummaries[].modelId')"
grep -qw 'amazon.nova-micro-v1:0' <<<"$models" || fail "list-foundation-models lacks amazon.nova-micro-v1:0: $models"
check "bedrock list-foundation-models"

# Step Functions: the run the upload started, followed to its end (virtual time: seconds).
execution=""
status=""
for _ in $(seq 1 240); do
  read -r execution status < <(aws stepfunctions list-executions --state-machine-arn "$StateMachineArn" \
    --query 'executions[0].[executionArn,status]') || true
  [ -n "$execution" ] && [ "$execution" != None ] && [ "$status" != RUNNING ] && break
  sleep 0.5
done
[ "$status" = SUCCEEDED ] || fail "the execution $execution ended $status, not SUCCEEDED"
check "stepfunctions list-executions: $execution $status"
entered="$(aws stepfunctions get-execution-history --execution-arn "$execution" \
  --query "events[?type=='TaskStateEntered'] | length(@)")"
[ "$entered" -gt 0 ] || fail "get-execution-history shows no TaskStateEntered event"
aws stepfunctions describe-execution --execution-arn "$execution" --query status | grep -qx SUCCEEDED \
  || fail "describe-execution disagrees with list-executions"
check "stepfunctions get-execution-history ($entered task states entered), describe-execution"

# Bedrock: the run's training job, Completed, with its final losses; its metric CSV in the bucket.
job="$(aws bedrock list-model-customization-jobs --query 'modelCustomizationJobSummaries[0].jobArn')"
[ -n "$job" ] && [ "$job" != None ] || fail "list-model-customization-jobs lists no job"
read -r job_status loss output < <(aws bedrock get-model-customization-job --job-identifier "$job" \
  --query '[status,trainingMetrics.trainingLoss,outputDataConfig.s3Uri]')
[ "$job_status" = Completed ] || fail "get-model-customization-job: $job is $job_status"
[ "$loss" != None ] || fail "get-model-customization-job: a Completed job without trainingMetrics"
check "bedrock get-model-customization-job: $job_status, training loss $loss"
csv="$(aws s3 ls --recursive "${output%/}/" | awk '{print $4}' | grep 'training_artifacts/step_wise_training_metrics.csv$' | head -n 1)"
[ -n "$csv" ] || fail "no training_artifacts/step_wise_training_metrics.csv under $output"
aws s3 cp --only-show-errors "s3://$BucketName/$csv" - | head -n 1 | grep -q '^step_number,epoch_number,training_loss,perplexity' \
  || fail "$csv does not start with Bedrock's columns"
aws bedrock list-custom-models --query 'modelSummaries[].modelArn' | grep -q 'custom-model/' \
  || fail "list-custom-models lists no custom model"
check "the job's step_wise_training_metrics.csv, bedrock list-custom-models"

# Bedrock Runtime: Converse against a base model, the CLI's own JSON parsing of the answer.
read -r stop tokens text < <(aws bedrock-runtime converse --model-id amazon.nova-micro-v1:0 \
  --messages '[{"role":"user","content":[{"text":"My invoice is wrong, who do I talk to?"}]}]' \
  --inference-config '{"maxTokens":64,"temperature":0}' \
  --query '[stopReason,usage.outputTokens,output.message.content[0].text]')
[ -n "$text" ] && [ "$tokens" -gt 0 ] || fail "converse answered no text ($stop, $tokens tokens)"
check "bedrock-runtime converse: $stop, $tokens tokens"
