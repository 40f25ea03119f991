#!/usr/bin/env python3
"""`make cost`: what the service costs on AWS per 1,000 videos and per 1 million
signed-in requests, from counts measured on the local stack and the list prices in
`scripts/prices.json` (region, date and source of each price are printed beside it).

The counts come from `local-stack bench`, run here on the local stack: every AWS request of one video from
submit to ready and of each signed-in route, by action (DynamoDB writes and reads,
transactions with their items, S3 requests by method, SQS, SES, KMS), the bytes the
functions logged, and how long each background function ran. Lambda's memory per
function is the template's. What the local stack cannot measure is an assumption,
stated in the output: the video's size, how often a page polls, Lambda durations
(the local stack runs a debug build, slower than Lambda's release build, so the
compute figures are an upper bound).
"""
import json
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)

# Assumptions (stated in the output).
VIDEO_MBIT_PER_S = 8          # 1080p H.264 with audio, as the providers deliver it
POLLS_PER_VIDEO = 12          # a page asking every 5 s for about a minute
DOWNLOADS_PER_VIDEO = 1
OUTPUT_DAYS = 7               # policy.output_retention: the output is kept at most this
PLATFORM_LOG_BYTES = 350      # Lambda's own START, END and REPORT lines per invocation
HTTP_MEMORY_MB = 256          # the template's HTTP functions (provider-webhook: 128)


def report():
    if len(sys.argv) > 1:
        # A report saved from `cargo run -p local-stack -- bench N`.
        return json.load(open(sys.argv[1]))
    print("$ cargo run -p local-stack -- bench 5", file=sys.stderr, flush=True)
    out = subprocess.run(["cargo", "run", "--quiet", "-p", "local-stack", "--", "bench", "5"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def memory_mb():
    """Each function's MemorySize in the template, by binary."""
    text = open("infra/template.yaml").read()
    sizes, binary = {}, None
    for line in text.splitlines():
        m = re.match(r"\s+Binary: (\S+)", line)
        if m:
            binary = m.group(1)
        m = re.match(r"\s+MemorySize: (\d+)", line)
        if m and binary:
            sizes[binary] = int(m.group(1))
            binary = None
    return sizes


def dynamodb_units(actions):
    """(read units, write units) of a set of actions: a read of a small item is 1 RRU
    (strongly consistent, the upper bound), a write of one under 1 KB 1 WRU, an item of
    a transaction 2 WRU."""
    reads = sum(actions.get(f"dynamodb:{a}", 0) for a in ("GetItem", "Query", "BatchGetItem", "Scan"))
    writes = sum(actions.get(f"dynamodb:{a}", 0) for a in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"))
    writes += 2 * actions.get("dynamodb:TransactWriteItems.items", 0)
    return reads, writes


def rekognition_images(actions):
    """R45: each screening question (moderation labels, faces) bills one image."""
    return sum(actions.get(f"rekognition:{a}", 0) for a in ("DetectModerationLabels", "DetectFaces"))


def cost_lines(prices, actions, sqs_requests, lambda_gb_s, lambda_requests, api_requests,
               log_bytes, s3_gb_month=0.0, transfer_gb=0.0):
    p = prices["prices"]
    rru, wru = dynamodb_units(actions)
    s3_tier1 = sum(actions.get(f"s3:{m}", 0) for m in ("PUT", "POST"))
    s3_tier2 = sum(actions.get(f"s3:{m}", 0) for m in ("GET", "HEAD"))
    lines = [
        ("DynamoDB reads", rru, "RRU", rru * p["dynamodb_rru_per_million"] / 1e6),
        ("DynamoDB writes", wru, "WRU", wru * p["dynamodb_wru_per_million"] / 1e6),
        ("S3 PUT/POST", s3_tier1, "requests", s3_tier1 * p["s3_put_per_1000"] / 1e3),
        ("S3 GET/HEAD", s3_tier2, "requests", s3_tier2 * p["s3_get_per_1000"] / 1e3),
        ("S3 storage", s3_gb_month, "GB-months", s3_gb_month * p["s3_storage_gb_month"]),
        ("SQS", sqs_requests, "requests", sqs_requests * p["sqs_per_million"] / 1e6),
        ("SES", actions.get("ses:SendEmail", 0), "emails",
         actions.get("ses:SendEmail", 0) * p["ses_per_1000"] / 1e3),
        ("KMS Sign", actions.get("kms:Sign", 0), "requests",
         actions.get("kms:Sign", 0) * p["kms_asymmetric_per_10000"] / 1e4),
        ("Rekognition", rekognition_images(actions), "image analyses",
         rekognition_images(actions) * p["rekognition_image_per_1000"] / 1e3),
        ("Lambda compute", lambda_gb_s, "GB-s", lambda_gb_s * p["lambda_arm_gb_second"]),
        ("Lambda requests", lambda_requests, "invocations", lambda_requests * p["lambda_per_million"] / 1e6),
        ("API Gateway", api_requests, "requests", api_requests * p["http_api_per_million"] / 1e6),
        ("CloudWatch Logs", log_bytes / 1e9, "GB ingested", log_bytes / 1e9 * p["logs_ingest_gb"]),
        ("Data transfer out", transfer_gb, "GB", transfer_gb * p["transfer_out_gb"]),
    ]
    return lines


def show(title, lines, scale):
    print(f"\n{title}")
    total = 0.0
    for name, qty, unit, usd in lines:
        total += usd * scale
        print(f"  {name:20} {qty * scale:14,.3f} {unit:12} ${usd * scale:10.4f}")
    print(f"  {'total':20} {'':14} {'':12} ${total:10.4f}")
    return total


def main():
    prices = json.load(open("scripts/prices.json"))
    rep = report()
    mem = memory_mb()
    video = rep["video"]
    actions = video["actions"]

    # Per video: Lambda from the background functions' measured run time, plus the
    # HTTP calls (the submission, the polls, the completion webhook).
    gb_s = sum(v["seconds"] * mem.get(f, 256) / 1024 for f, v in video["invocations"].items())
    invocations = sum(v["invocations"] for v in video["invocations"].values())
    routes = {r["route"]: r for r in rep["hot_path"]["routes"]}
    submit, poll = routes["POST /v1/videos"], routes["GET /v1/videos/{id}"]
    http_calls = 1 + POLLS_PER_VIDEO + 1  # submit, polls, the provider's webhook
    gb_s += (submit["p50_ms"] + POLLS_PER_VIDEO * poll["p50_ms"]) / 1000 * HTTP_MEMORY_MB / 1024
    # The polls' own AWS requests (the video flow counted the submission already).
    per_video = dict(actions)
    for k, v in poll["actions_per_call"].items():
        per_video[k] = per_video.get(k, 0) + v * POLLS_PER_VIDEO
    log_bytes = (video["log_bytes"] + POLLS_PER_VIDEO * poll["log_bytes_per_call"]
                 + (invocations + http_calls) * PLATFORM_LOG_BYTES)

    print(f"prices: {prices['region']}, {prices['date']}, on-demand list prices")
    for key, value in prices["prices"].items():
        print(f"  {key:28} {value:<12} {prices['sources'][key]}")
    print("\nassumptions: video at {} Mbit/s; {} polls and {} download per video; output kept "
          "{} days; Lambda durations from a debug build (an upper bound); {} bytes of "
          "Lambda's own log lines per invocation; DynamoDB items under 1 KB (a job with a "
          "2,000-character prompt is about 3 KB: its writes cost up to 3 units, not 1)".format(
              VIDEO_MBIT_PER_S, POLLS_PER_VIDEO, DOWNLOADS_PER_VIDEO, OUTPUT_DAYS,
              PLATFORM_LOG_BYTES))

    totals = {}
    for seconds in (4, 8):
        size_gb = VIDEO_MBIT_PER_S * seconds / 8 / 1000
        lines = cost_lines(prices, per_video, video["aws"]["sqs"] + 0, gb_s,
                           invocations + http_calls, 1 + POLLS_PER_VIDEO, log_bytes,
                           s3_gb_month=size_gb * OUTPUT_DAYS / 30,
                           transfer_gb=size_gb * DOWNLOADS_PER_VIDEO)
        totals[seconds] = show(f"per 1,000 videos of {seconds} s (1 video's measured counts × 1,000)",
                               lines, 1000)

    # R45: a video made from an image adds its screening, two image analyses (measured
    # by `make bench` as the image path's added requests); a text video has none.
    image = dict.fromkeys(("rekognition:DetectModerationLabels", "rekognition:DetectFaces"), 1)
    show("an image-to-video submission adds (per 1,000): its screening by Rekognition",
         [l for l in cost_lines(prices, image, 0, 0, 0, 0, 0) if l[0] == "Rekognition"], 1000)

    # Per signed-in request: the mean of the signed-in reads measured.
    reads = [r for r in rep["hot_path"]["routes"] if r["route"].startswith("GET") and r["route"] != "GET /v1/models"]
    mean = {}
    for r in reads:
        for k, v in r["actions_per_call"].items():
            mean[k] = mean.get(k, 0) + v / len(reads)
    p50 = sum(r["p50_ms"] for r in reads) / len(reads)
    logs = sum(r["log_bytes_per_call"] for r in reads) / len(reads) + PLATFORM_LOG_BYTES
    lines = cost_lines(prices, mean, 0, p50 / 1000 * HTTP_MEMORY_MB / 1024, 1, 1, logs)
    show("per 1 million signed-in requests (the mean of the signed-in reads: "
         + ", ".join(r["route"] for r in reads) + ")", lines, 1e6)


if __name__ == "__main__":
    main()
