"""Verifying that an HTTP request really comes from Slack (signing secret, v0 scheme).

slack_sdk's SignatureVerifier computes the HMAC; in front of it we reject, as plain False,
every malformed input that would otherwise raise (a non-numeric timestamp, a non-ASCII
signature, a body that is not UTF-8), so a bad request always gets 401 and never a 500.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from slack_sdk.signature import Clock, SignatureVerifier

MAX_SKEW_SECONDS = 300


class RequestVerifier:
    def __init__(self, signing_secret: str, clock: Clock | None = None) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self.clock = clock or Clock()

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        timestamp = headers.get("X-Slack-Request-Timestamp") or headers.get("x-slack-request-timestamp")
        signature = headers.get("X-Slack-Signature") or headers.get("x-slack-signature")
        if not timestamp or not signature:
            return False
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if not (signature.isascii() and signature.startswith("v0=")):
            return False
        if abs(self.clock.now() - int(timestamp)) > MAX_SKEW_SECONDS:
            return False
        try:
            expected = self._verifier.generate_signature(timestamp=timestamp, body=body.decode("utf-8"))
        except UnicodeDecodeError:
            return False
        return expected is not None and hmac.compare_digest(expected.encode(), signature.encode())
