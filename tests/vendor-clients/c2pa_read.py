"""Reads a video's content credentials with the C2PA SDK's own Python binding
(c2pa-python), independently of the service's code. Usage:

    c2pa_read.py <video.mp4> <trust-anchors.pem>

Prints one JSON object: the validation state, the failure codes, the active
manifest, and the whole manifest store as the reader reports it.
"""

import json
import sys

import c2pa


def main() -> None:
    video, anchors = sys.argv[1], sys.argv[2]
    with open(anchors, encoding="utf-8") as f:
        pem = f.read()
    # The local stack's throwaway CA is the only trust anchor: a signature by a
    # certificate it issued is "Trusted"; anything else at most "Valid".
    context = c2pa.Context.from_dict(
        {"trust": {"trust_anchors": pem}, "verify": {"verify_trust": True}}
    )
    try:
        with open(video, "rb") as stream:
            reader = c2pa.Reader("video/mp4", stream, context=context)
            results = reader.get_validation_results() or {}
            failures = []
            for m in (results.get("activeManifest") or {}).get("failure", []):
                failures.append(m.get("code"))
            print(
                json.dumps(
                    {
                        "state": reader.get_validation_state(),
                        "failures": failures,
                        "active": reader.get_active_manifest(),
                        "store": json.loads(reader.json()),
                    }
                )
            )
    except c2pa.C2paError as e:
        print(json.dumps({"state": None, "error": str(e)}))


if __name__ == "__main__":
    main()
