"""Drives the local Replicate emulator with Replicate's own Python client (replicate
on PyPI, pointed at the emulator by its base URL), so the emulator answers exactly as
https://api.replicate.com does: create a prediction for an official model by name
(with and without `Prefer: wait`), read it until it ends, a failed and a cancelled
one, and the webhook secret. Then the completion call that comes back to the webhook
given at creation is verified twice, independently of the service's own check: with
the official `standardwebhooks` library, and with the Replicate client's validator.

    python replicate_check.py <API base URL> <token>
"""
import sys
import urllib.request

import replicate
from replicate.webhook import WebhookSigningSecret, Webhooks
from standardwebhooks import Webhook
from webhook_receiver import Receiver
from standardwebhooks.webhooks import WebhookVerificationError

base_url, token = sys.argv[1], sys.argv[2]
client = replicate.Client(api_token=token, base_url=base_url)
MODEL = "google/veo-3.1"
INPUT = {"prompt": "a red kite over the sea", "duration": 4,
         "aspect_ratio": "16:9", "generate_audio": True}


receiver = Receiver()
hook = receiver.url

prediction = client.models.predictions.create(
    model=MODEL, input=INPUT, webhook=hook, webhook_events_filter=["completed"])
assert prediction.status in ("starting", "processing"), prediction.status
assert prediction.model == MODEL, prediction.model
assert prediction.urls["get"].endswith(prediction.id), prediction.urls
prediction.wait()
assert prediction.status == "succeeded", (prediction.status, prediction.error)
assert isinstance(prediction.output, str) and prediction.output.endswith(".mp4"), prediction.output
again = client.predictions.get(prediction.id)
assert again.status == "succeeded" and again.output == prediction.output
with urllib.request.urlopen(prediction.output) as r:
    video = r.read()
assert video[4:8] == b"ftyp", video[:16]

# `Prefer: wait`: the answer holds until the prediction ends.
waited = client.models.predictions.create(model=MODEL, input=INPUT, wait=10)
assert waited.status == "succeeded", waited.status

failed = client.models.predictions.create(model=MODEL, input={"prompt": "emulator-fail"})
failed.wait()
assert failed.status == "failed" and failed.error, (failed.status, failed.error)

# Replicate's moderation: a failed prediction whose error carries E005.
refused = client.models.predictions.create(model=MODEL, input={"prompt": "emulator-refuse"})
refused.wait()
assert refused.status == "failed" and "E005" in refused.error, (refused.status, refused.error)

# An input outside the model's schema: 422 "Input validation failed", which the client
# raises as a ReplicateError with its invalid fields.
try:
    client.models.predictions.create(model="minimax/hailuo-02",
                                     input={"prompt": "a kite", "duration": 8})
    raise AssertionError("an input outside the schema was taken")
except replicate.exceptions.ReplicateError as e:
    assert e.status == 422, e
    assert "duration" in str(e), e

stopped = client.models.predictions.create(model=MODEL, input=INPUT)
client.predictions.cancel(stopped.id)
assert client.predictions.get(stopped.id).status == "canceled"

secret = client.webhooks.default.secret().key
assert secret.startswith("whsec_"), secret

calls = receiver.wait()
assert len(calls) == 1, calls
headers, body = calls[0]
payload = Webhook(secret).verify(body, headers)
assert payload["id"] == prediction.id and payload["status"] == "succeeded", payload
Webhooks.validate(headers=headers, body=body.decode(), secret=WebhookSigningSecret(key=secret),
                  tolerance=300)
try:
    Webhook(secret).verify(body + b" ", headers)
    raise AssertionError("an altered body verified")
except WebhookVerificationError:
    pass
print("replicate: create, wait, get, cancel, secret and a verified webhook all as Replicate answers")
