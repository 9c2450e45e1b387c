"""Request signing: the official Slack test vector, skew, mutations, and junk that must be 401, never 500."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.signature import RequestVerifier

# The worked example from Slack's "Verifying requests from Slack" guide.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FrozenClock:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def headers(ts: str = TIMESTAMP, sig: str = SIGNATURE) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def verifier(now: float = 1531420618) -> RequestVerifier:
    return RequestVerifier(SECRET, clock=FrozenClock(now))


def test_official_slack_vector_verifies_with_a_frozen_clock():
    assert verifier().verify(BODY, headers())


@pytest.mark.parametrize(("skew", "ok"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)])
def test_timestamp_skew_over_five_minutes_is_rejected(skew, ok):
    assert verifier(now=int(TIMESTAMP) + skew).verify(BODY, headers()) is ok


@pytest.mark.parametrize("bad_headers", [
    {},
    {"X-Slack-Request-Timestamp": TIMESTAMP},
    {"X-Slack-Signature": SIGNATURE},
    headers(ts="abc"),
    headers(ts="1531420618.5"),
    headers(ts="-1531420618"),
    headers(ts="9" * 40),
    headers(ts=""),
    headers(sig=""),
    headers(sig="v1=" + SIGNATURE[3:]),
    headers(sig="v0=zz"),
    headers(sig="v0=ä" + SIGNATURE[4:]),
    headers(sig=SIGNATURE + "\u2028"),
])
def test_junk_headers_are_rejected_without_raising(bad_headers):
    assert verifier().verify(BODY, bad_headers) is False


def test_a_body_that_is_not_utf8_is_rejected_without_raising():
    body = b"\xff\xfe" + BODY
    signature = "v0=" + hmac.new(SECRET.encode(), b"v0:" + TIMESTAMP.encode() + b":" + body, hashlib.sha256).hexdigest()
    assert verifier().verify(body, headers(sig=signature)) is False


@settings(max_examples=300, deadline=None)
@given(part=st.sampled_from(["body", "ts", "sig"]), data=st.data())
def test_any_mutated_byte_is_rejected(part, data):
    body, ts, sig = bytearray(BODY), bytearray(TIMESTAMP.encode()), bytearray(SIGNATURE.encode())
    target = {"body": body, "ts": ts, "sig": sig}[part]
    index = data.draw(st.integers(min_value=0, max_value=len(target) - 1))
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != target[index]))
    target[index] = new
    try:
        mutated_headers = headers(ts=ts.decode("latin-1"), sig=sig.decode("latin-1"))
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        return
    assert verifier().verify(bytes(body), mutated_headers) is False
