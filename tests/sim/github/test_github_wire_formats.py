"""The small parsers under the emulator: pkt-lines, diffs, PEM keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.github import rs256
from sim.github.git_store import parse_changes, split_patch
from sim.github.pkt_line import encode, read_push_commands, reword_refusal, split_packets
from tests.sim.github.helpers import sign_jwt


def test_push_commands_and_a_refusal_without_side_band():
    first = encode(b"0" * 40 + b" " + b"a" * 40 + b" refs/heads/x\0report-status agent=git/2.39\n")
    request = first + encode(b"b" * 40 + b" " + b"c" * 40 + b" refs/heads/y\n") + b"0000PACK..."
    updates, capabilities = read_push_commands(request)
    assert [u.ref for u in updates] == ["refs/heads/x", "refs/heads/y"] and "report-status" in capabilities
    assert read_push_commands(first) is None  # the flush has not arrived yet

    report = encode(b"unpack ok\n") + encode(b"ng refs/heads/x pre-receive hook declined\n") + b"0000"
    packets, rest = split_packets(reword_refusal(report, "refusing to allow it", sideband=False))
    assert packets == [b"unpack ok\n", b"ng refs/heads/x refusing to allow it\n", None] and rest == b""


def test_a_refusal_inside_side_band_keeps_progress_messages():
    inner = encode(b"unpack ok\n") + encode(b"ng refs/heads/x pre-receive hook declined\n") + b"0000"
    response = (
        encode(b"\x02remote: hello\n") + encode(b"\x01" + inner[:9]) + encode(b"\x01" + inner[9:]) + b"0000"
    )
    packets, _ = split_packets(reword_refusal(response, "no", sideband=True))
    assert packets[0] == b"\x02remote: hello\n" and packets[-1] is None
    inner_packets, _ = split_packets(b"".join(p[1:] for p in packets[1:-1]))
    assert inner_packets == [b"unpack ok\n", b"ng refs/heads/x no\n", None]


def test_diff_parsing_with_a_rename_and_a_binary_file():
    raw = (
        b":100644 100644 " + b"1" * 40 + b" " + b"2" * 40 + b" R090\0old.txt\0new.txt\0"
        b":000000 100644 " + b"0" * 40 + b" " + b"3" * 40 + b" A\0logo.png\0"
    )
    numstat = b"1\t1\t\0old.txt\0new.txt\0-\t-\tlogo.png\0"
    patch = (
        b"diff --git a/old.txt b/new.txt\nsimilarity index 90%\nrename from old.txt\nrename to new.txt\n"
        b"@@ -1 +1 @@\n-a\n+b\ndiff --git a/logo.png b/logo.png\nnew file mode 100644\n"
        b"Binary files /dev/null and b/logo.png differ\n"
    )
    renamed, binary = parse_changes(raw, numstat, patch)
    assert (renamed.filename, renamed.previous_filename, renamed.status) == ("new.txt", "old.txt", "renamed")
    assert (renamed.additions, renamed.deletions, renamed.patch) == (1, 1, "@@ -1 +1 @@\n-a\n+b")
    assert (binary.status, binary.patch, binary.blob_sha) == ("added", None, "3" * 40)
    assert split_patch("") == []


def test_rs256_accepts_openssl_signatures_and_rejects_tampering(keys: dict[str, Path]):
    key = rs256.public_key_from_pem(keys["pkcs1"].read_text())
    assert rs256.public_key_from_pem(keys["pkcs8"].read_text()) != key
    token = sign_jwt(keys["pkcs1"], {"iss": 1})
    assert rs256.verify(token, key) == {"iss": 1}
    header, payload, signature = token.split(".")
    with pytest.raises(rs256.JwtError):
        rs256.verify(f"{header}.{payload}x.{signature}", key)
    with pytest.raises(rs256.JwtError):
        rs256.verify(sign_jwt(keys["other"], {"iss": 1}), key)
    with pytest.raises(rs256.JwtError):
        rs256.verify(token, rs256.public_key_from_pem(keys["pkcs8"].read_text()))
