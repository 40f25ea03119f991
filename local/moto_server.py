"""The local AWS endpoint: moto's server mode, served one request at a time.

    python moto_server.py serve PORT   one endpoint on PORT; ends when stdin closes
    python moto_server.py zygote PATH  hands out endpoints over the Unix socket PATH;
                                       ends when stdin closes

Importing moto and its services takes about a second of CPU, and every end-to-end test
starts its own endpoint (so tests never share state). The zygote imports them once and
forks a fresh endpoint per request: a connection to PATH sends the wanted port (0: any
free port) and a newline, and reads back "ready PORT" once the endpoint listens. The
endpoint lives as long as that connection: when the asking process closes it (or dies),
the endpoint exits, as a `serve` endpoint does when its stdin closes.

Two things differ from moto's own server for speed, neither in what it answers: the
zygote builds each service once before forking (`warm`), and a query on a table's own
key reads only its partition (`query_partitions_only`), and `/moto-api/data.json?service=ses`
(the local mailbox's read) dumps SES's records alone (`one_services_data`). One answer
is corrected to S3's own: a completed multipart upload's root element
(`complete_upload_as_s3_does`).

Rekognition's DetectModerationLabels and DetectFaces, which moto lacks, are answered from a
PNG `tEXt` chunk (`screen_images_from_png_text`).
"""
import os
import select
import signal
import socket
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

# The services the stack uses (and moto's own API, which the tests read), built before
# any fork so that no endpoint imports or builds them.
SERVICES = (
    "dynamodb", "s3", "sqs", "kms", "ssm", "sesv2", "ses", "sts", "rekognition", "moto_api",
)


def query_partitions_only():
    """moto answers a query on a table's own key by sorting every item of the table and
    keeping the partition's: its cost grows with the table, where DynamoDB's grows with
    the page. (A test that gives one account 50,000 rows made every query of that table
    slow, whoever's it was.) Here such a query starts from the partition's items alone,
    and moto's own code sorts, pages and filters them as before: the same answer.

    Applied only to the moto whose query reads its arguments as this expects; another
    version is left as it is, only slower."""
    import inspect

    from moto.dynamodb.models.table import Table

    query = Table.query
    names = list(inspect.signature(query).parameters)[:9]
    if names != [
        "self", "hash_key", "range_comparison", "range_objs", "limit",
        "exclusive_start_key", "scan_index_forward", "projection_expressions",
        "index_name",
    ]:
        return

    def query_partition(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is not None or hash_key is None or not self.has_range_key:
            return query(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        # One request at a time (threaded=False): nothing else sees this table meanwhile.
        self.all_items = lambda: partition
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query_partition


def complete_upload_as_s3_does(app):
    """moto 5.2.1 answers CompleteMultipartUpload with the root element
    `CompleteMultipartUploadResponse`; S3 answers `CompleteMultipartUploadResult` (S3 API
    Reference, CompleteMultipartUpload, "Response Syntax"; read 2026-12-07). boto3 does
    not look at the root's name, so moto never noticed; the Rust SDK refuses the answer,
    and every upload of more than one part failed locally where S3 would take it. Only
    that answer (a POST with `uploadId`, a few hundred bytes) is read and corrected."""
    wrong, right = b"CompleteMultipartUploadResponse", b"CompleteMultipartUploadResult"

    def corrected(environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or "uploadId" not in environ.get(
            "QUERY_STRING", ""
        ):
            return app(environ, start_response)
        seen = {}

        def keep(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return lambda _data: None

        body = b"".join(app(environ, keep))
        body = body.replace(b"<" + wrong, b"<" + right).replace(b"</" + wrong, b"</" + right)
        headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(seen["status"], headers)
        return [body]

    return corrected


def one_services_data(app):
    """moto's `/moto-api/data.json` dumps every record of every service, each attribute
    tried as JSON; DynamoDB's items are among them, and moto keeps every item it ever
    made (a transaction's copies too). A test's mailbox read, which wants SES's sent
    messages only, grew with everything the test had stored: with a thousand 12 KB rows
    it took seconds. Asked with `?service=NAME`, it dumps that service's records alone,
    the same way; without, moto answers as ever."""
    import json
    from urllib.parse import parse_qs

    def filtered(environ, start_response):
        if environ.get("PATH_INFO") != "/moto-api/data.json":
            return app(environ, start_response)
        wanted = parse_qs(environ.get("QUERY_STRING", "")).get("service")
        if not wanted:
            return app(environ, start_response)
        from moto.core.model_instances import model_data

        results = {}
        for service in wanted:
            results[service] = {}
            for name, model in sorted(model_data.get(service, {}).items()):
                rows = results[service][name] = []
                for instance in model.instances_tracked:
                    row = {}
                    for attr in dir(instance):
                        if attr.startswith("_"):
                            continue
                        try:
                            value = getattr(instance, attr)
                            json.dumps(value)
                        except (TypeError, AttributeError, ValueError):
                            continue
                        row[attr] = value
                    rows.append(row)
        body = json.dumps(results).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/javascript"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return filtered


# Rekognition's moderation labels of model 7.0 below the top level, with their
# top-level label: an answer names both, as Rekognition's does. Source: Amazon
# Rekognition Developer Guide, "Moderating content" (moderation-api.html), the label
# categories of model 7.0; read 2026-12-07.
MODERATION_PARENTS = {
    "Explicit Nudity": "Explicit",
    "Explicit Sexual Activity": "Explicit",
    "Sex Toys": "Explicit",
    "Non-Explicit Nudity": "Non-Explicit Nudity of Intimate parts and Kissing",
    "Obstructed Intimate Parts": "Non-Explicit Nudity of Intimate parts and Kissing",
    "Kissing on the Lips": "Non-Explicit Nudity of Intimate parts and Kissing",
    "Graphic Violence": "Violence",
    "Weapon Violence": "Violence",
    "Death and Emaciation": "Visually Disturbing",
    "Crashes": "Visually Disturbing",
    "Nazi Party": "Hate Symbols",
    "White Supremacy": "Hate Symbols",
    "Extremist": "Hate Symbols",
}


def png_text(data, keyword):
    """The text of a PNG's `tEXt` chunk with `keyword`, or None."""
    import struct

    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    at = 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if kind == b"tEXt" and b"\0" in body:
            name, text = body.split(b"\0", 1)
            if name == keyword:
                return text.decode("latin-1")
        if kind == b"IEND":
            return None
        at += 12 + length
    return None


def screen_images_from_png_text():
    """moto has Rekognition's service but neither DetectModerationLabels nor DetectFaces.
    The local endpoint answers both, in Rekognition's JSON protocol and shapes, for an
    image in one of its buckets: from the PNG `tEXt` chunk `local-screening`, e.g.
    `labels=Explicit Nudity,Violence;faces=34,9` (those labels at 99 %, faces of those
    apparent ages, each reported as a range of the age - 2 to + 2). An image without it
    has no labels and no faces. Like Rekognition, it reads only JPEG and PNG
    (`InvalidImageFormatException`) from S3 (`InvalidS3ObjectException` when the object
    cannot be read), takes `Image.S3Object` or `Image.Bytes`, and answers AgeRange only
    when asked for it (`ALL` or `AGE_RANGE`). Sources: Amazon Rekognition API Reference,
    DetectModerationLabels, DetectFaces, ModerationLabel, FaceDetail; Developer Guide,
    "Guidelines and quotas" (JPEG and PNG, 15 MB from S3); read 2026-12-07."""
    import base64
    import json

    from moto.core.exceptions import JsonRESTError
    from moto.rekognition.responses import RekognitionResponse
    from moto.s3.models import s3_backends

    class RekognitionError(JsonRESTError):
        def __init__(self, kind, message):
            super().__init__(kind, message)
            self.description = json.dumps(
                {"__type": kind, "Code": kind, "Message": message}
            )

    def image_of(response):
        image = json.loads(response.body or "{}").get("Image") or {}
        if "Bytes" in image:
            data = base64.b64decode(image["Bytes"])
        else:
            obj = image.get("S3Object") or {}
            try:
                backend = s3_backends[response.current_account]["aws"]
                data = backend.get_object(obj.get("Bucket", ""), obj.get("Name", "")).value
            except Exception:
                raise RekognitionError(
                    "InvalidS3ObjectException",
                    "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
                )
        if len(data) > 15 * 1024 * 1024:
            raise RekognitionError("ImageTooLargeException", "Image size is too large.")
        png = data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
        if not (png or data.startswith(b"\xff\xd8\xff")):
            raise RekognitionError("InvalidImageFormatException", "Request has invalid image format")
        if png:
            import struct

            width, height = struct.unpack(">II", data[16:24])
            if width < 80 or height < 80:
                raise RekognitionError(
                    "InvalidParameterException",
                    "Requested image should have a minimum height and width of 80 pixels.",
                )
        said = png_text(data, b"local-screening") or ""
        parts = dict(p.split("=", 1) for p in said.split(";") if "=" in p)
        labels = [l.strip() for l in parts.get("labels", "").split(",") if l.strip()]
        ages = [int(a) for a in parts.get("faces", "").split(",") if a.strip().isdigit()]
        return labels, ages

    def detect_moderation_labels(self):
        labels, _ = image_of(self)
        answered, seen = [], set()
        for name in labels:
            parent = MODERATION_PARENTS.get(name, "")
            for label, up, level in ((parent, "", 1), (name, parent, 2 if parent else 1)):
                if label and label not in seen:
                    seen.add(label)
                    answered.append(
                        {"Confidence": 99.0, "Name": label, "ParentName": up, "TaxonomyLevel": level}
                    )
        wanted = json.loads(self.body or "{}").get("MinConfidence", 50.0)
        answered = [l for l in answered if l["Confidence"] >= wanted]
        return json.dumps(
            {"ModerationLabels": answered, "ModerationModelVersion": "7.0", "ContentTypes": []}
        )

    def detect_faces(self):
        _, ages = image_of(self)
        attributes = json.loads(self.body or "{}").get("Attributes") or ["DEFAULT"]
        with_age = "ALL" in attributes or "AGE_RANGE" in attributes
        faces = []
        for i, age in enumerate(ages):
            face = {
                "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.1 + 0.2 * (i % 4), "Top": 0.2},
                "Confidence": 99.9,
                "Landmarks": [],
                "Pose": {"Roll": 0.0, "Yaw": 0.0, "Pitch": 0.0},
                "Quality": {"Brightness": 80.0, "Sharpness": 90.0},
            }
            if with_age:
                face["AgeRange"] = {"Low": max(age - 2, 0), "High": age + 2}
            faces.append(face)
        return json.dumps({"FaceDetails": faces})

    RekognitionResponse.detect_moderation_labels = detect_moderation_labels
    RekognitionResponse.detect_faces = detect_faces


def start(port, app=None):
    """An endpoint on `port` serving in a thread of its own; returns its port."""
    app = app or DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", port, one_services_data(complete_upload_as_s3_does(app)), threaded=False
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.port


def serve(port):
    start(port)
    print("ready", flush=True)
    sys.stdin.read()


def endpoint(conn, app):
    """In a forked child: one endpoint, for as long as `conn` stays open."""
    # The zygote's standard output is a pipe its starter stops reading after "ready":
    # shared by every fork, it would fill, and block the first fork that wrote to it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        line = conn.makefile().readline().strip()
        port = start(int(line or 0), app)
        conn.sendall(f"ready {port}\n".encode())
        while conn.recv(4096):
            pass
    finally:
        os._exit(0)


# The local stack's account (moto's default, for the access key "local") and region
# (`LOCAL_REGION` in local/src/stack.rs); S3's backends are keyed by partition.
ACCOUNT = "123456789012"
REGIONS = ("eu-west-1", "aws")
# One request per service that changes nothing (a read, or one refused): (signing
# name, method, path, X-Amz-Target, body, the status an empty endpoint answers).
LOCATION = (
    '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
)
UNVERIFIED_MAIL = (
    '{"FromEmailAddress": "nobody@example.com", "Destination": {"ToAddresses":'
    ' ["nobody@example.com"]}, "Content": {"Simple": {"Subject": {"Data": "-"},'
    ' "Body": {"Text": {"Data": "-"}}}}}'
)
READS = (
    ("dynamodb", "POST", "/", "DynamoDB_20120810.ListTables", "{}", 200),
    ("sqs", "POST", "/", "AmazonSQS.ListQueues", "{}", 200),
    ("kms", "POST", "/", "TrentService.ListKeys", "{}", 200),
    ("ssm", "POST", "/", "AmazonSSM.DescribeParameters", "{}", 200),
    ("ses", "GET", "/v2/email/identities/nobody%40example.com", None, "", 404),
    # Refused: the sender is not verified.
    ("ses", "POST", "/v2/email/outbound-emails", None, UNVERIFIED_MAIL, 400),
    ("s3", "GET", "/", None, "", 200),
    # Refused: a one-letter bucket name is invalid.
    ("s3", "PUT", "/x", None, LOCATION, 400),
)


def warm(app):
    """Builds what moto builds lazily on a service's first request (its backend for the
    account and region, its request model: a quarter of a second for SESv2), once
    here rather than in every fork. The state stays empty."""
    from moto.backends import get_backend
    from werkzeug.test import Client

    for service in SERVICES:
        backends = get_backend(service)
        for region in REGIONS:
            try:
                backends[ACCOUNT][region]
            except KeyError:  # a regional service has no "aws", a global one no region
                pass
    client = Client(app)
    for service, method, path, target, body, status in READS:
        headers = {
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/"
            f"{REGIONS[0]}/{service}/aws4_request, SignedHeaders=host, Signature=0",
        }
        if target:
            headers["X-Amz-Target"] = target
            headers["Content-Type"] = "application/x-amz-json-1.0"
        elif service == "ses":
            headers["Content-Type"] = "application/json"
        reply = client.open(path, method=method, headers=headers, data=body)
        if reply.status_code != status:
            raise SystemExit(f"warming {service}: {reply.status_code}")


def zygote(path):
    # Each fork gets its own copy of this application and of moto's (empty) state.
    app = DomainDispatcherApplication(create_backend_app)
    for service in SERVICES:
        app.app_instances[service] = create_backend_app(service)
    warm(app)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    # Children are reaped by the kernel; the zygote never waits for one.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    # One thread only (forking a process with threads copies locks held by others):
    # select on the socket and on stdin, whose end means the zygote is no longer wanted.
    try:
        while True:
            ready, _, _ = select.select([listener, sys.stdin], [], [])
            if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
                return
            if listener in ready:
                conn, _ = listener.accept()
                if os.fork() == 0:
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    listener.close()
                    endpoint(conn, app)
                conn.close()
    finally:
        os.unlink(path)


if __name__ == "__main__":
    mode, arg = sys.argv[1], sys.argv[2]
    query_partitions_only()
    screen_images_from_png_text()
    if mode == "serve":
        serve(int(arg))
    elif mode == "zygote":
        zygote(arg)
    else:
        sys.exit(f"unknown mode {mode}")
