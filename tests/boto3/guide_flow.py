"""The blog guide's scripts, as one boto3 program, against whatever the environment points at.

Written for AWS: nothing here knows about the local cloud. Its endpoints, region and credentials come from
the standard variables (AWS_ENDPOINT_URL_<SERVICE>, AWS_REGION, AWS_ACCESS_KEY_ID, ...) and the stack's
outputs from BucketName, StateMachineArn, TopicArn and BedrockServiceRoleArn, as `finetune local serve`
writes them to DIR/env. tests/boto3/run.sh sources that file and runs this; any shape boto3 rejects, or
any answer that differs from what Bedrock documents, fails it.

Usage: python guide_flow.py DATASET.jsonl
"""

import json
import os
import sys
import time
import uuid

import boto3

POLL_SECONDS = float(os.environ.get("GUIDE_POLL_SECONDS", "0.2"))
MAX_POLLS = 600
BASE_MODEL = "amazon.nova-micro-v1:0:128k"
# The guide's hyperparameters, written as the guide writes them: Python numbers made strings.
HYPERPARAMETERS = {
    "epochCount": str(2),
    "learningRate": str(0.00001),  # "1e-05"
    "learningRateWarmupSteps": str(10),
}

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def step(text):
    print(f"-- {text}", flush=True)


def poll(describe, status_of, done, failed=()):
    """Calls describe() every POLL_SECONDS (real time) until status_of(answer) is in done."""
    seen = []
    for _ in range(MAX_POLLS):
        answer = describe()
        status = status_of(answer)
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in done:
            return answer, seen
        if status in failed:
            raise AssertionError(f"ended {status}: {answer}")
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"still {seen[-1]} after {MAX_POLLS} polls")


def main(dataset):
    bucket = os.environ["BucketName"]
    role = os.environ["BedrockServiceRoleArn"]
    machine = os.environ["StateMachineArn"]
    topic = os.environ["TopicArn"]
    suffix = uuid.uuid4().hex[:8]

    s3 = boto3.client("s3")
    bedrock = boto3.client("bedrock")
    runtime = boto3.client("bedrock-runtime")
    sfn = boto3.client("stepfunctions")
    sns = boto3.client("sns")

    # Not under incoming/ (this is the guide's own job, not the pipeline's), and under runs/: the stack's
    # Bedrock service role reads only there, on AWS as locally.
    step("upload the dataset under runs/, where the stack's Bedrock role may read it")
    key = f"runs/guide-{suffix}/train.jsonl"
    with open(dataset, "rb") as body:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    head = s3.head_object(Bucket=bucket, Key=key)
    check(head["ContentLength"] == os.path.getsize(dataset), "the uploaded size")
    training_uri = f"s3://{bucket}/{key}"

    step("create_model_customization_job with the guide's hyperparameters " + json.dumps(HYPERPARAMETERS))
    check(HYPERPARAMETERS["learningRate"] == "1e-05", "Python writes 0.00001 as 1e-05")
    job_name = f"guide-job-{suffix}"
    created = bedrock.create_model_customization_job(
        jobName=job_name,
        customModelName=f"guide-model-{suffix}",
        roleArn=role,
        baseModelIdentifier=BASE_MODEL,
        customizationType="FINE_TUNING",
        trainingDataConfig={"s3Uri": training_uri},
        validationDataConfig={"validators": [{"s3Uri": training_uri}]},
        # The stack's Bedrock service role may write only under runs/*/output/ (template.yaml).
        outputDataConfig={"s3Uri": f"s3://{bucket}/runs/guide-{suffix}/output/"},
        hyperParameters=HYPERPARAMETERS,
    )
    job_arn = created["jobArn"]
    check(job_arn.startswith("arn:aws:bedrock:"), "a job ARN")

    step("poll get_model_customization_job to Completed (the guide's monitor_training)")
    job, statuses = poll(
        lambda: bedrock.get_model_customization_job(jobIdentifier=job_arn),
        lambda j: j["status"],
        {"Completed"},
        {"Failed", "Stopped"},
    )
    print(f"   statuses seen: {statuses}")
    check("InProgress" in statuses, "the job was seen in progress before it completed")
    check(job["hyperParameters"]["learningRate"] == "1e-05", "the hyperparameters as sent")
    check(job["trainingMetrics"]["trainingLoss"] > 0, "trainingMetrics once completed")
    check(job["validationMetrics"][0]["validationLoss"] > 0, "validationMetrics once completed")
    check(job["creationTime"] <= job["endTime"], "creationTime and endTime are timestamps, in order")
    model_arn = job["outputModelArn"]

    step("the step-wise metric CSVs under the job's output prefix")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"runs/guide-{suffix}/output/")
    names = [o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", [])]
    check("step_wise_training_metrics.csv" in names, f"step_wise_training_metrics.csv among {names}")
    check("validation_metrics.csv" in names, f"validation_metrics.csv among {names}")

    step("list_custom_models")
    models = bedrock.list_custom_models(nameContains=suffix)["modelSummaries"]
    check([m["modelArn"] for m in models] == [model_arn], "the new model is listed")
    check(models[0]["baseModelArn"].endswith("foundation-model/amazon.nova-micro-v1:0:128k"), "its base model")

    step("create_provisioned_model_throughput and poll it to InService")
    throughput_arn = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName=f"guide-pt-{suffix}", modelId=model_arn
    )["provisionedModelArn"]
    throughput, statuses = poll(
        lambda: bedrock.get_provisioned_model_throughput(provisionedModelId=throughput_arn),
        lambda t: t["status"],
        {"InService"},
        {"Failed"},
    )
    print(f"   statuses seen: {statuses}")
    check(throughput["modelArn"] == model_arn, "the throughput serves the custom model")

    step("invoke_model with each family's request body")
    prompt = "I need a return label for order 30445"
    bodies = {
        "amazon.titan-text-express-v1": (
            {"inputText": f"User: {prompt}\nBot:", "textGenerationConfig": {"maxTokenCount": 64, "temperature": 0.7}},
            lambda r: r["results"][0]["outputText"],
        ),
        "amazon.nova-micro-v1:0": (
            {
                "schemaVersion": "messages-v1",
                "messages": [{"role": "user", "content": [{"text": prompt}]}],
                "inferenceConfig": {"maxTokens": 64, "temperature": 0.7},
            },
            lambda r: r["output"]["message"]["content"][0]["text"],
        ),
        "us.meta.llama3-1-8b-instruct-v1:0": (
            {
                "prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
                + prompt
                + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>",
                "max_gen_len": 64,
                "temperature": 0.5,
            },
            lambda r: r["generation"],
        ),
        "anthropic.claude-3-haiku-20240307-v1:0": (
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
            },
            lambda r: r["content"][0]["text"],
        ),
    }
    for model_id, (body, text_of) in bodies.items():
        answer = runtime.invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        reply = json.loads(answer["body"].read())
        check(isinstance(text_of(reply), str) and text_of(reply), f"{model_id} answers in its family's shape")
    custom = runtime.invoke_model(modelId=throughput_arn, body=json.dumps(bodies["amazon.nova-micro-v1:0"][0]))
    tuned_text = json.loads(custom["body"].read())["output"]["message"]["content"][0]["text"]
    check(tuned_text, "the custom model answers InvokeModel through its throughput")

    step("converse against the base model and the custom one")
    messages = [{"role": "user", "content": [{"text": prompt}]}]
    system = [{"text": "You route customer support tickets."}]
    for model_id in (BASE_MODEL.rsplit(":", 1)[0], throughput_arn):
        reply = runtime.converse(
            modelId=model_id, messages=messages, system=system, inferenceConfig={"maxTokens": 64, "temperature": 0.2}
        )
        check(reply["output"]["message"]["content"][0]["text"], f"converse {model_id}: a text answer")
        check(reply["usage"]["inputTokens"] > 0 and reply["usage"]["outputTokens"] > 0, "converse: token usage")
        check(reply["stopReason"] in ("end_turn", "max_tokens"), "converse: a stop reason")
        check(reply["metrics"]["latencyMs"] >= 0, "converse: latency")

    step("start_execution on the state machine (a console run) and read its history")
    # The stack's validate-split may read datasets only under incoming/ (template.yaml); the upload
    # there also starts a run of its own through the bucket notification, as on AWS.
    console_key = f"incoming/guide-{suffix}/console.jsonl"
    with open(dataset, "rb") as body:
        s3.put_object(Bucket=bucket, Key=console_key, Body=body)
    execution_arn = sfn.start_execution(
        stateMachineArn=machine,
        name=f"guide-{suffix}",
        input=json.dumps({"dataset": f"s3://{bucket}/{console_key}", "config": {"deployment": "none"}}),
    )["executionArn"]
    described, statuses = poll(
        lambda: sfn.describe_execution(executionArn=execution_arn), lambda d: d["status"], {"SUCCEEDED", "FAILED"}
    )
    print(f"   execution: {statuses}; {described.get('error', '')}")
    events = []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, maxResults=20)
    for page in pages:
        events.extend(page["events"])
    types = [e["type"] for e in events]
    check(types[0] == "ExecutionStarted", "the history starts with ExecutionStarted")
    check([e["id"] for e in events] == list(range(1, len(events) + 1)), "event ids count up from 1")
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    check(len(entered) > 3, f"states were entered: {entered} ({described.get('error')}: {described.get('cause')})")
    check(types[-1] == "ExecutionSucceeded", f"it ended: {types[-1]} ({described.get('cause')})")
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    check(execution_arn in [e["executionArn"] for e in listed], "list_executions lists it")

    step("sns: the stack's topic")
    check(topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]], "list_topics lists the stack's topic")
    check(sns.publish(TopicArn=topic, Subject="guide", Message="hello")["MessageId"], "publish answers a MessageId")

    step("clean up: delete the throughput")
    bedrock.delete_provisioned_model_throughput(provisionedModelId=throughput_arn)
    print(f"guide flow: {checks} checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
