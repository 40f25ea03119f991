"""Drives the local fal emulator with fal's own Python client (fal-client), so the
emulator answers exactly as https://queue.fal.run does: submit, status with and
without logs, result, cancel, and a failed request. Then a submission with
`webhook_url`: the completion call that comes back is checked the way fal's
documentation says a receiver must check it, with the `cryptography` package's
Ed25519 and the published JWKS, independently of the service's own verifier.

    python fal_check.py <queue base URL> <key>
"""
import base64
import hashlib
import json
import sys
import time
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import fal_client
from webhook_receiver import Receiver
import fal_client.client as fal_internals

queue_url, key = sys.argv[1], sys.argv[2]
# The client builds its queue URLs from this (https://queue.fal.run/ in production).
fal_internals.QUEUE_URL_FORMAT = queue_url.rstrip("/") + "/"
client = fal_client.SyncClient(key=key)
MODEL = "fal-ai/veo3.1"


def until_completed(handle):
    seen = set()
    for _ in range(300):
        status = handle.status(with_logs=True)
        seen.add(type(status).__name__)
        if isinstance(status, fal_client.Completed):
            return status, seen
        time.sleep(0.05)
    raise AssertionError(f"never completed; saw {seen}")


handle = client.submit(
    MODEL,
    arguments={"prompt": "a red kite over the sea", "duration": "4s",
               "aspect_ratio": "16:9", "generate_audio": True},
)
status, seen = until_completed(handle)
assert status.error is None, status
assert isinstance(status.logs, list) and status.logs, status
assert "Queued" in seen or "InProgress" in seen, seen
result = handle.get()
assert result["video"]["content_type"] == "video/mp4", result
assert result["video"]["url"].startswith(queue_url.rstrip("/")), result
# Without asking for logs, the client reads them as None.
assert handle.status().logs is None

failed = client.submit(MODEL, arguments={"prompt": "emulator-fail", "duration": "4s"})
status, _ = until_completed(failed)
assert status.error, status

hanging = client.submit(MODEL, arguments={"prompt": "emulator-hang", "duration": "4s"})
hanging.cancel()

# fal's content checker: the request is queued and completes; its result is a 422 whose
# detail says `content_policy_violation`, which fal-client raises as a FalClientError.
refused = client.submit(MODEL, arguments={"prompt": "emulator-refuse", "duration": "4s"})
status, _ = until_completed(refused)
try:
    refused.get()
    raise AssertionError("a refused request had a result")
except fal_client.client.FalClientError as e:
    assert "content" in str(e).lower() or "422" in str(e), e

# An input outside the endpoint's schema (Kling takes "5" or "10", not "5s") is refused
# at submission with pydantic's 422, which fal-client raises too.
try:
    client.submit("fal-ai/kling-video/v2.1/master/text-to-video",
                  arguments={"prompt": "a kite", "duration": "5s"})
    raise AssertionError("an input outside the schema was taken")
except fal_client.client.FalClientError as e:
    assert "duration" in str(e) or "422" in str(e), e


receiver = Receiver()
hook = f"{receiver.url}?job=j1"
with_hook = client.submit(
    MODEL, arguments={"prompt": "a lantern in fog", "duration": "4s"}, webhook_url=hook
)
calls = receiver.wait()
assert len(calls) == 1, "the completion call came"
headers, body = calls[0]
headers = {k.lower(): v for k, v in headers.items()}
payload = json.loads(body)
assert payload["request_id"] == with_hook.request_id, payload
assert payload["status"] == "OK" and payload["payload"]["video"]["url"], payload
# fal's documented check: the timestamp within five minutes, then the ED25519 signature
# over request id, user id, timestamp and the body's SHA-256, by a key of the JWKS.
request_id = headers["x-fal-webhook-request-id"]
assert request_id == with_hook.request_id
timestamp = headers["x-fal-webhook-timestamp"]
assert abs(time.time() - int(timestamp)) <= 300
message = "\n".join([
    request_id, headers["x-fal-webhook-user-id"], timestamp,
    hashlib.sha256(body).hexdigest(),
]).encode()
jwks = json.load(urllib.request.urlopen(queue_url.rstrip("/") + "/.well-known/jwks.json"))
signature = bytes.fromhex(headers["x-fal-webhook-signature"])


def verifies(key):
    x = base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
    try:
        Ed25519PublicKey.from_public_bytes(x).verify(signature, message)
        return True
    except InvalidSignature:
        return False


assert any(verifies(k) for k in jwks["keys"] if k["kty"] == "OKP"), "signature verifies"
receiver.shutdown()

print("fal-client: submit, status (queued, in progress, completed, failed), result, cancel, "
      "a content refusal in the result, a schema refusal at submission, signed completion call: ok")
