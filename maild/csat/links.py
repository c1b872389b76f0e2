"""The signed links of a survey mail, and the secret that signs them.

A link is ``{public_url}/csat/{survey id}.{signature}/{rating}``: the signature is an
HMAC-SHA256 of the survey id under maild's secret, so a link cannot be guessed or altered
(changing the id breaks it), while the rating stays readable in the URL. The secret comes
from the environment variable ``[maild] secret_env``; without it maild makes a random one
once in ``<data_dir>/secret``, readable by its owner only, so the embedded default needs no
set-up (several instances must share the variable instead).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from maild.config import Config

SECRET_FILE = "secret"
_PURPOSE = b"maild csat v1\x00"


def load_secret(config: Config) -> bytes:
    """The signing secret: the environment variable's value, else the data folder's file
    (made on first use)."""
    value = os.environ.get(config.maild.secret_env, "")
    if value:
        return value.encode("utf-8")
    path = Path(config.maild.data_dir) / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()


def _signature(secret: bytes, survey_id: int) -> str:
    digest = hmac.new(secret, _PURPOSE + str(survey_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def survey_token(secret: bytes, survey_id: int) -> str:
    """``{id}.{signature}``: what a survey link carries."""
    return f"{survey_id}.{_signature(secret, survey_id)}"


def survey_of_token(secret: bytes, token: str) -> int | None:
    """The survey id a token was made for, or None for a token we did not sign."""
    ident, dot, signature = token.partition(".")
    if not dot or not ident.isdigit() or len(ident) > 18:
        return None
    survey_id = int(ident)
    if not hmac.compare_digest(signature.encode(), _signature(secret, survey_id).encode()):
        return None
    return survey_id


def rating_url(base_url: str, token: str, rating: str) -> str:
    return f"{base_url}/csat/{token}/{rating}"
