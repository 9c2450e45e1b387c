"""Secrets never leave: known token shapes and configured secret values are redacted everywhere."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.redact import REDACTED, RedactingFormatter, Redactor

CANARIES = [
    "xoxb-1234567890-abcdefghijkl",
    "xoxe.xoxp-1-abcdefgh12345678".split(".")[1],
    "xapp-1-A0123-456789-abcdef",
    "ghp_" + "a" * 36,
    "ghs_" + "B" * 36,
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    "AKIAIOSFODNN7EXAMPLE",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
]


@pytest.mark.parametrize("secret", CANARIES)
def test_known_token_shapes_are_redacted(secret):
    out = Redactor().text(f"config: token={secret} end")
    assert secret not in out and REDACTED in out and out.endswith(" end")


def test_configured_secrets_of_any_shape_are_redacted():
    redactor = Redactor(["hunter2-the-signing-secret"])
    assert redactor.text("the secret is hunter2-the-signing-secret!") == f"the secret is {REDACTED}!"


def test_nested_payloads_are_redacted():
    redactor = Redactor()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "key sk-abcdefghijklmnopqrstu"}}]
    assert redactor.data(blocks) == [{"type": "section", "text": {"type": "mrkdwn", "text": f"key {REDACTED}"}}]


def test_log_lines_are_redacted_with_their_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(Redactor(["s3cr3t-value"])))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("token %s used", "xoxb-1234567890-abcdef")
        try:
            raise RuntimeError("boom s3cr3t-value")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "xoxb-1234567890" not in text and "s3cr3t-value" not in text and text.count(REDACTED) >= 2


@pytest.mark.parametrize("secret", ["pass\\word-with-backslash", "it's a \"quoted\" secret", "pässwörd-ñ\tand-a-tab"])
def test_a_secret_is_redacted_from_a_traceback_that_shows_it_escaped(secret):
    """A KeyError's message, `{x!r}` and JSON bodies show a secret escaped; that form is redacted too."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(Redactor([secret])))
    logger = logging.getLogger("test.redact.escaped")
    logger.addHandler(handler)
    try:
        try:
            try:
                {}[secret]
            except KeyError as exc:
                raise RuntimeError(f"body: {json.dumps({'password': secret})}") from exc
        except RuntimeError:
            logger.warning("lookup failed", exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "KeyError" in text and "Traceback" in text and text.count(REDACTED) == 2
    for shown in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]):
        assert shown not in text
