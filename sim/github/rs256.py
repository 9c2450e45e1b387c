"""RS256 JWT verification with the standard library alone (RSASSA-PKCS1-v1_5 with SHA-256).

Neither PyJWT nor `cryptography` is installed here, and verifying a signature needs only
modular exponentiation: s^e mod n must equal the PKCS#1 v1.5 encoding of the SHA-256 digest.
Keys are read from PEM: PKCS#1 (`RSA PRIVATE KEY`, GitHub's download format), PKCS#8
(`PRIVATE KEY`, OpenSSL 3's default) or public keys (`PUBLIC KEY`, `RSA PUBLIC KEY`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----(.+?)-----END \1-----", re.S)


class JwtError(Exception):
    """The token is not a well-formed JWT signed with RS256 by the expected key."""


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items directly inside one DER encoding."""
    items = []
    pos = 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        items.append((tag, data[pos : pos + length]))
        pos += length
    return items


def _sequence(data: bytes) -> list[tuple[int, bytes]]:
    (tag, content), *_ = _der_items(data)
    if tag != 0x30:
        raise ValueError("expected a DER SEQUENCE")
    return _der_items(content)


def _integer(item: tuple[int, bytes]) -> int:
    tag, content = item
    if tag != 0x02:
        raise ValueError("expected a DER INTEGER")
    return int.from_bytes(content, "big")


def public_key_from_pem(pem: str | bytes) -> RsaPublicKey:
    """The RSA public key in a PEM private or public key."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    match = PEM_BLOCK.search(text)
    if match is None:
        raise ValueError("no PEM block found")
    kind, body = match.group(1), base64.b64decode("".join(match.group(2).split()))
    if kind == "RSA PRIVATE KEY":  # PKCS#1: version, n, e, d, ...
        items = _sequence(body)
        return RsaPublicKey(_integer(items[1]), _integer(items[2]))
    if kind == "PRIVATE KEY":  # PKCS#8: version, algorithm, OCTET STRING holding PKCS#1
        items = _sequence(body)
        inner = _sequence(items[2][1])
        return RsaPublicKey(_integer(inner[1]), _integer(inner[2]))
    if kind == "RSA PUBLIC KEY":
        items = _sequence(body)
        return RsaPublicKey(_integer(items[0]), _integer(items[1]))
    if kind == "PUBLIC KEY":  # SubjectPublicKeyInfo: algorithm, BIT STRING holding PKCS#1
        items = _sequence(body)
        inner = _sequence(items[1][1][1:])
        return RsaPublicKey(_integer(inner[0]), _integer(inner[1]))
    raise ValueError(f"unsupported PEM block {kind!r}")


def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as e:
        raise JwtError("invalid base64url") from e


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(part))
    except ValueError as e:
        raise JwtError("invalid JSON") from e
    if not isinstance(value, dict):
        raise JwtError("not a JSON object")
    return value


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload, unchecked: only to find which key should verify it."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("a JWT has three parts")
    return _json_part(parts[1])


def verify(token: str, key: RsaPublicKey) -> dict[str, Any]:
    """The claims of `token` if it is signed with RS256 by `key`; JwtError otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("a JWT has three parts")
    header = _json_part(parts[0])
    if header.get("alg") != "RS256":
        raise JwtError(f"alg {header.get('alg')!r} is not RS256")
    signature = _b64url(parts[2])
    if len(signature) != key.size:
        raise JwtError("signature length does not match the key")
    digest = hashlib.sha256(f"{parts[0]}.{parts[1]}".encode("ascii", "replace")).digest()
    padding = key.size - len(SHA256_DIGEST_INFO) - len(digest) - 3
    expected = b"\x00\x01" + b"\xff" * padding + b"\x00" + SHA256_DIGEST_INFO + digest
    recovered = pow(int.from_bytes(signature, "big"), key.e, key.n).to_bytes(key.size, "big")
    if padding < 8 or not hmac.compare_digest(recovered, expected):
        raise JwtError("bad signature")
    return _json_part(parts[1])
