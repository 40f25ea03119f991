#!/usr/bin/env python3
"""`make bench`: how fast and small the service is, in ratios and counts that hold on
any machine, in one run.

- init: each function's start-to-first-Runtime-API-poll (release build, this machine's
  architecture), interleaved with a bare lambda_runtime hello world built with the same
  profile; the ratio to it is what travels between machines (goal: at most 2x);
- size: each zipped arm64 bootstrap, as `make package` builds it (goal: at most 3 MB);
- requests: AWS requests (by service) and third-party requests of one sign-in and of
  one video from submit to ready, on the local stack (goal: at most 25 AWS requests
  per video, SQS receives included);
- delivery lag: from the provider finishing to the video being ready, p50 and p95
  over 20 videos made at once, content credentials signed on the way (goal: p50 at
  most 1.5 s), and how long `stamp`'s invocations took (debug build, as the local
  stack runs);
- failover: the time from asking to ready of 20 videos made at once, healthy and with
  fal down (every one made by Replicate; goal: p95 at most the healthy p95 + 10 s);
- hot path: each signed-in route's AWS requests and sequential round trips (from the
  fault proxy's record of when each request started and ended), and its p50/p99 with
  every AWS request held 5 ms (goal: at most 2 round trips for a signed-in read, 3 for
  a write);
- stamp: its zip (goal: at most 12 MB) and init (goal: at most 3x), with the others'.
"""
import json
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)


def run(cmd, **kw):
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


functions = re.findall(r"^\s+Binary: (\S+)", open("infra/template.yaml").read(), re.M)

# 1. init, against the yardstick, interleaved.
run(["cargo", "build", "--release", "--quiet", "-p", "bench-hello"]
    + [a for f in functions for a in ("-p", f)])
binaries = ["target/release/bench-hello"] + [f"target/release/{f}" for f in functions]
init = run([sys.executable, "scripts/measure-init.py", "--ratio", *binaries, "30"],
           capture_output=True, text=True).stdout
ratios = {}
for line in init.splitlines():
    m = re.match(r"(\S+): .* median ([\d.]+) ms.*; ([\d.]+)x", line)
    if m:
        ratios[m.group(1)] = (float(m.group(2)), float(m.group(3)))

# 2. sizes of the arm64 zips.
if not all(os.path.exists(f"target/lambda/{f}/bootstrap.zip") for f in functions):
    run(["bash", "scripts/package.sh"], stdout=sys.stderr)
sizes = {f: os.path.getsize(f"target/lambda/{f}/bootstrap.zip") / 1e6 for f in functions}

# 3 and 4. requests and delivery lag, on the local stack.
report = json.loads(run(["cargo", "run", "--quiet", "-p", "local-stack", "--",
                         "bench", "20"], capture_output=True, text=True).stdout)

hello_ms = ratios["bench-hello"][0]
print(f"\ninit (yardstick: bench-hello, {hello_ms:.1f} ms here) and size, goals <= 2x and <= 3 MB"
      " (stamp, which carries C2PA: <= 3x and <= 12 MB)")
print(f"{'function':20} {'init ms':>8} {'ratio':>6} {'zip MB':>7}")
for f in functions:
    ms, ratio = ratios[f]
    init_goal, size_goal = (3, 12) if f == "stamp" else (2, 3)
    print(f"{f:20} {ms:8.1f} {ratio:5.2f}x {sizes[f]:7.2f}"
          f"{'' if ratio <= init_goal else '  (init over goal)'}"
          f"{'' if sizes[f] <= size_goal else '  (size over goal)'}")
print("\nrequests, goal <= 25 AWS requests per video before content credentials, which add"
      " 1 DynamoDB, 5 S3 and 2 SQS requests (counted below) and 1 KMS Sign (not counted),"
      " and failover, which adds the provider's health (1 DynamoDB read per submission)")
for flow in ("sign_in", "video"):
    a, t = report[flow]["aws"], report[flow]["third_parties"]
    print(f"{flow:8} AWS {a['total']:3} (DynamoDB {a['dynamodb']}, S3 {a['s3']}, SQS {a['sqs']}, "
          f"SES {a['ses']}); third parties: fal {t['fal']}, Replicate {t['replicate']}, "
          f"Creem {t['creem']}, Google {t['google']}")
lag = report["delivery_lag_seconds"]
how = ("the provider calls the webhook" if report["provider_calls_back"]
       else f"the provider is polled every {report['provider_poll_interval_seconds']} s")
print(f"\ndelivery lag over {lag['videos']} videos made at once: p50 {lag['p50']:.2f} s, p95 {lag['p95']:.2f} s ({how})")
alone = report["delivery_lag_one_at_a_time_seconds"]
print(f"delivery lag over {alone['videos']} videos made one after another: p50 {alone['p50']:.2f} s, "
      f"p95 {alone['p95']:.2f} s (goal: p50 <= 1.5 s)")
ready = report["time_to_ready_seconds"]
h, d = ready["healthy"], ready["fal_down"]
print(f"time to ready over {h['videos']} videos, healthy: p50 {h['p50']:.2f} s, p95 {h['p95']:.2f} s; "
      f"fal down: p50 {d['p50']:.2f} s, p95 {d['p95']:.2f} s, {ready['fal_down_made_by_replicate']} made by Replicate "
      f"(goal: p95 <= healthy p95 + 10 s: {'met' if d['p95'] <= h['p95'] + 10 else 'NOT met'})")
stamps = report["stamp_invocation_seconds"]
print(f"stamp: {stamps['invocations']} invocations for {stamps['videos']} videos, "
      f"p50 {stamps['p50']:.2f} s, p95 {stamps['p95']:.2f} s per invocation")
hot = report["hot_path"]
print(f"\nhot path (each AWS request held {hot['round_trip_ms']} ms; goal: reads <= 2 round trips, writes <= 3)")
print(f"{'route':24} {'AWS':>4} {'depth':>6} {'(max)':>6} {'p50 ms':>8} {'p99 ms':>8}")
for r in hot["routes"]:
    # A video from an image first checks its upload (its record with the reads, then its
    # size and first bytes) and has it screened (R45) beside the prompt's moderation.
    goal = 2 if r["route"].startswith("GET") else 5 if "(image)" in r["route"] else 3
    print(f"{r['route']:24} {r['aws_requests']:4} {r['depth']:6} {r['depth_max']:6} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}"
          f"{'' if r['depth'] <= goal else '  (over goal)'}")
