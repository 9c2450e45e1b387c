"""Who may do what: personal tokens, GitHub Apps, their installations and installation tokens.

Permissions work like fine-grained tokens and installation tokens: a dict such as
{"contents": "write", "pull_requests": "read"}; `metadata: read` is always implied; write implies
read. A token sees every repository (`repos=None`) or a list of "owner/name"; an installation
token sees only its installation account's repositories. Public repositories are readable by
anyone, as on GitHub.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from sim.github import rs256
from sim.github.state import Person, Repo

LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
DEFAULT_APP_PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "metadata": "read",
}
INSTALLATION_TOKEN_SECONDS = 3600
JWT_MAX_SECONDS = 600
JWT_UNDECODABLE = "A JSON web token could not be decoded"
JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
    "the assertion expires"
)
JWT_TOO_LONG = "'Expiration time' claim ('exp') is too far in the future"
JWT_BAD_IAT = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
)


@dataclass
class Token:
    value: str
    user: Person
    kind: str  # pat, oauth, installation
    permissions: dict[str, str]
    repos: frozenset[str] | None = None  # lower-case full names; None: all (of `owner`, if set)
    owner: str | None = None  # installation tokens: the installation's account
    expires_at: float | None = None
    installation_id: int | None = None

    @property
    def login(self) -> str:
        return self.user.login

    def level(self, permission: str) -> int:
        if permission == "metadata":
            return max(LEVELS["read"], LEVELS.get(self.permissions.get("metadata", "read"), 0))
        return LEVELS.get(self.permissions.get(permission, "none"), 0)

    def sees(self, repo: Repo) -> bool:
        if self.owner is not None and repo.owner.lower() != self.owner.lower():
            return False
        return self.repos is None or repo.full_name.lower() in self.repos

    @property
    def forbidden_message(self) -> str:
        who = "integration" if self.kind == "installation" else "personal access token"
        return f"Resource not accessible by {who}"


@dataclass
class Installation:
    id: int
    account: str
    app: App
    permissions: dict[str, str]


@dataclass
class App:
    app_id: int
    slug: str
    key: rs256.RsaPublicKey
    permissions: dict[str, str]
    client_id: str
    installations: dict[int, Installation] = field(default_factory=dict)

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


class CredentialError(Exception):
    """401: the credentials presented are not valid (message as GitHub words it)."""


def read_authorization(header: str | None) -> str | None:
    """The token in `Authorization: Bearer|token <t>` or Basic (password, or user when no password)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() in ("bearer", "token"):
        return value or None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or user or None
    return None


def looks_like_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


def random_token(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(36))


class Credentials:
    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.apps: dict[int, App] = {}

    def add(self, token: Token) -> Token:
        self.tokens[token.value] = token
        return token

    def lookup(self, value: str, now: float) -> Token | None:
        """The live token with this value; None if unknown or expired."""
        token = self.tokens.get(value)
        if token is None or (token.expires_at is not None and now >= token.expires_at):
            return None
        return token

    def app_for_jwt(self, jwt: str) -> App:
        """The app that signed `jwt`, checking its claims like GitHub; CredentialError otherwise.

        iat/exp are compared with the real wall clock: they describe the client's clock, which
        `advance_clock` does not move.
        """
        now = time.time()
        try:
            issuer = rs256.unverified_claims(jwt).get("iss")
        except rs256.JwtError as e:
            raise CredentialError(JWT_UNDECODABLE) from e
        app = next((a for a in self.apps.values() if str(issuer) in (str(a.app_id), a.client_id)), None)
        if app is None:
            raise CredentialError(JWT_UNDECODABLE)
        try:
            claims = rs256.verify(jwt, app.key)
        except rs256.JwtError as e:
            raise CredentialError(JWT_UNDECODABLE) from e
        check_jwt_times(claims, now)
        return app

    def mint(
        self, installation: Installation, requested: dict[str, Any], repos: list[Repo], now: float
    ) -> Token:
        """An installation token for `repos` (empty: all of the account's) with the `requested`
        permissions (empty: all the installation's); the caller has checked they are granted."""
        wanted = requested or dict(installation.permissions)
        permissions = {"metadata": "read", **{k: str(v) for k, v in wanted.items()}}
        return self.add(Token(
            random_token("ghs_"), Person(installation.app.bot_login, installation.app.app_id, "Bot"),
            "installation", permissions,
            frozenset(r.full_name.lower() for r in repos) if repos else None,
            owner=installation.account, expires_at=now + INSTALLATION_TOKEN_SECONDS,
            installation_id=installation.id,
        ))  # fmt: skip


def check_jwt_times(claims: dict[str, Any], now: float) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
        raise CredentialError(JWT_EXPIRED)
    if exp > now + JWT_MAX_SECONDS:
        raise CredentialError(JWT_TOO_LONG)
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now + 1:
        raise CredentialError(JWT_BAD_IAT)


def permissions_granted(requested: dict[str, Any], installed: dict[str, str]) -> bool:
    """Whether an installation may hand out `requested` (nothing beyond what it was granted)."""
    for name, level in requested.items():
        granted = installed.get(name, "read" if name == "metadata" else "none")
        if str(level) not in LEVELS or LEVELS[str(level)] > LEVELS.get(granted, 0):
            return False
    return True
