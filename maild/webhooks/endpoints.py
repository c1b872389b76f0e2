"""Each ``[[webhooks]]`` receiver with its secret, read from the environment at start.

A secret lives in the environment, never in the configuration file: ``secret_env`` names the
variable. A variable that is unset, or not a Standard Webhooks secret (``whsec_`` followed by
the base64 of 24 to 64 random bytes), stops ``maild serve`` at start with the key that names
it, rather than failing every delivery later; ``maild check`` says the same.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from maild.config import Config, ConfigError
from outbound.webhooks import Endpoint

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAKE_ONE = 'e.g. "whsec_$(openssl rand -base64 32)"'


def secret_problem(value: str) -> str | None:
    """Why ``value`` is not a usable Standard Webhooks secret, or None when it is."""
    encoded = value.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return f"is not {SECRET_PREFIX!r} followed by base64"
    if len(key) < MIN_SECRET_BYTES:
        return f"holds {len(key)} bytes, fewer than {MIN_SECRET_BYTES}"
    return None


def endpoints(config: Config, environ: Mapping[str, str] = os.environ) -> dict[str, Endpoint]:
    """The receivers by name, each with its secret. Raises :class:`ConfigError` naming the
    ``webhooks[N].secret_env`` key of a variable that is unset or holds no usable secret."""
    found: dict[str, Endpoint] = {}
    for index, hook in enumerate(config.webhooks):
        where = f"webhooks[{index}].secret_env"
        value = environ.get(hook.secret_env, "").strip()
        if not value:
            raise ConfigError(
                f"{where}: the environment variable {hook.secret_env} is not set; it holds "
                f"webhook {hook.name!r}'s signing secret ({MAKE_ONE})"
            )
        problem = secret_problem(value)
        if problem is not None:
            raise ConfigError(
                f"{where}: the value of {hook.secret_env} {problem}: a Standard Webhooks "
                f"secret is {SECRET_PREFIX!r} and the base64 of {MIN_SECRET_BYTES} to 64 "
                f"random bytes ({MAKE_ONE})"
            )
        secret = value if value.startswith(SECRET_PREFIX) else SECRET_PREFIX + value
        found[hook.name] = Endpoint(hook.name, hook.url, secret)
    return found
