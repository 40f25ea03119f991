#!/usr/bin/env python3
"""Cold-start cost of a function binary: the time from process start to its first
poll of the Lambda Runtime API (`GET /2018-06-01/runtime/invocation/next`), measured
against a fake Runtime API on 127.0.0.1. That is the init phase Lambda bills.

    cargo build --release -p auth
    python3 scripts/measure-init.py target/release/auth [runs]
    python3 scripts/measure-init.py --ratio target/release/bench-hello target/release/auth … [runs]

With `--ratio`, the first binary is the yardstick: the binaries are started in turn,
round after round (interleaved, so a busy moment of the machine hits all alike), and
each one's median is printed with its ratio to the yardstick's.
"""
import http.server
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

polled = threading.Event()


class FakeRuntimeApi(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            polled.set()
            time.sleep(5)  # never hand out an invocation; the process is killed
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(port):
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "measure",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "measure",
        "AWS_SECRET_ACCESS_KEY": "measure",
        "AWS_SESSION_TOKEN": "measure",
        "ACCOUNTS_TABLE": "a", "SESSIONS_TABLE": "s", "RATE_LIMITS_TABLE": "r",
        "LEDGER_TABLE": "l", "AUDIT_TABLE": "au", "VIDEOS_TABLE": "v", "INPUTS_BUCKET": "i",
        "OUTPUTS_BUCKET": "o", "GENERATE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
        "MAIL_FROM": "no-reply@sora2ai.info", "GOOGLE_CLIENT_ID": "client",
        "HASH_SECRET": "0123456789abcdef0123456789abcdef",
        "FAL_KEY": "measure-fal-key", "CREEM_API_KEY": "measure-creem-key", "VIDEO_PROVIDERS": "fal,replicate",
        "FAL_QUEUE_URL": "https://queue.fal.run", "FAL_API_URL": "https://api.fal.ai/v1",
        "FAL_OUTPUT_HOSTS": "fal.media,fal.run", "FAL_USER_ID": "measure",
        "REPLICATE_API_URL": "https://api.replicate.com", "REPLICATE_OUTPUT_HOSTS": "replicate.delivery",
        "REPLICATE_API_TOKEN": "r8_measure-replicate-token",
        "REPLICATE_WEBHOOK_SECRET": "whsec_bWVhc3VyZS1yZXBsaWNhdGUtc2VjcmV0",
        "CREEM_API_URL": "https://api.creem.io",
        "GOOGLE_JWKS_URL": "https://www.googleapis.com/oauth2/v3/certs",
        "FAL_JWKS_URL": "https://rest.fal.ai/.well-known/jwks.json",
        "PROVIDER_WEBHOOK_URL": "https://api.sora2ai.info/v1/webhooks",
        "PRIVACY_TABLE": "p", "PRIVACY_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/p",
        "EXPORTS_BUCKET": "e", "SUPPORT_EMAIL": "support@sora2ai.info",
        "PUBLIC_API_URL": "https://api.sora2ai.info", "BILLING_TABLE": "b",
        "BILLING_PRODUCTS": '[{"id":"pack_10","creem_product_id":"prod_1","name":"10 credits","kind":"credit_pack","credits":10,"price_cents":900,"currency":"EUR"}]',
        "CHECKOUT_SUCCESS_URL": "https://www.sora2ai.info/billing/success",
        "SITE_URL": "https://www.sora2ai.info",
        "CREEM_WEBHOOK_SECRET": "whsec_bWVhc3VyZQ==",
        "SIGNING_KEY_ID": "arn:aws:kms:eu-west-1:1:key/measure",
        "SIGNING_CERTS": "-----BEGIN CERTIFICATE-----\nbWVhc3VyZQ==\n-----END CERTIFICATE-----\n",
        "RUST_LOG": "info",
    }


def start_to_poll(binary, env):
    polled.clear()
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not polled.wait(10):
        proc.kill()
        # Its own words say why (most often a variable this list lacks).
        why = proc.communicate()[1].decode(errors="replace").strip()[-500:]
        sys.exit(f"{binary} never polled the Runtime API: {why}")
    elapsed = (time.perf_counter() - start) * 1000
    proc.kill()
    proc.wait()
    return elapsed


def main():
    args = sys.argv[1:]
    ratio = args[:1] == ["--ratio"]
    if ratio:
        args = args[1:]
    runs = int(args.pop()) if args and args[-1].isdigit() else 20
    binaries = args
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), FakeRuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Every function's variables at once: each reads only its own.
    env = environment(port)
    times = {b: [] for b in binaries}
    for _ in range(runs):
        for b in binaries:
            times[b].append(start_to_poll(b, env))
    base = statistics.median(times[binaries[0]])
    for b in binaries:
        median = statistics.median(times[b])
        line = (f"{os.path.basename(b)}: start to first Runtime API poll over {runs} runs: "
                f"median {median:.1f} ms, min {min(times[b]):.1f} ms, max {max(times[b]):.1f} ms; "
                f"binary {os.path.getsize(b) / 1e6:.1f} MB")
        if ratio:
            line += f"; {median / base:.2f}x the yardstick"
        print(line)


if __name__ == "__main__":
    main()
