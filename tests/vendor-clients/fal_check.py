"""Drives the local fal emulator with fal's own Python client (fal-client), so the
emulator answers exactly as https://queue.fal.run does: submit, status with and
without logs, result, cancel, and a failed request.

    python fal_check.py <queue base URL> <key>
"""
import sys
import time

import fal_client
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

print("fal-client: submit, status (queued, in progress, completed, failed), result, cancel: ok")
