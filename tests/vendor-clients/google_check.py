"""Verifies an ID token of the local Google emulator with Google's own Python library
(google-auth), against the emulator's key set, as a Google client would.

    python google_check.py <stack base URL> <client id>
"""
import json
import sys
import urllib.request

from google.auth import exceptions
from google.auth.transport import requests as google_requests
from google.oauth2 import id_token

base, client_id = sys.argv[1].rstrip("/"), sys.argv[2]
certs = f"{base}/_local/google/certs"


def mint(**claims):
    body = json.dumps({"email": "vendor@example.com", "name": "Vendor Check", **claims}).encode()
    request = urllib.request.Request(
        f"{base}/_local/google/id-token", data=body, headers={"content-type": "application/json"}
    )
    return json.load(urllib.request.urlopen(request))["id_token"]


claims = id_token.verify_token(mint(), google_requests.Request(), audience=client_id, certs_url=certs)
assert claims["iss"] in ("accounts.google.com", "https://accounts.google.com"), claims
assert claims["aud"] == client_id and claims["azp"] == client_id, claims
assert claims["email"] == "vendor@example.com" and claims["email_verified"] is True, claims
assert claims["sub"] and claims["name"] == "Vendor Check", claims

# The library refuses what the service refuses.
for bad in (dict(aud="someone-else"), dict(expires_in=-3600)):
    try:
        id_token.verify_token(mint(**bad), google_requests.Request(), audience=client_id, certs_url=certs)
    except (ValueError, exceptions.GoogleAuthError, Exception) as e:  # noqa: BLE001
        continue
    raise AssertionError(f"accepted a token with {bad}")

print("google-auth: verify_token against the emulator's JWKS: ok")
