"""Registry credentials, made in one place whatever they come from.

- the environment (the CLI): PIPELINE_REGISTRY_USERNAME / PIPELINE_REGISTRY_PASSWORD;
- Dagger arguments (the module, the publish lane): a user name and a secret, whose
  plaintext is read only here, at the last moment.
Both go through `Credentials.given`: no user name, no credentials. The password
is never part of a repr, log or message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

USERNAME_ENV = "PIPELINE_REGISTRY_USERNAME"
PASSWORD_ENV = "PIPELINE_REGISTRY_PASSWORD"  # noqa: S105 - the variable's name, not a value


class Secret(Protocol):
    """What a dagger.Secret offers (the registry code imports no Dagger)."""

    async def plaintext(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Credentials:
    """Registry basic credentials; the password never appears in a repr."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def given(cls, username: str | None, password: str | None) -> Credentials | None:
        """Credentials for ``username`` (None without one); a missing password is ""."""
        return cls(username, password or "") if username else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        env = os.environ if environ is None else environ
        return cls.given(env.get(USERNAME_ENV), env.get(PASSWORD_ENV))

    @classmethod
    async def from_secret(cls, username: str | None,
                          password: Secret | None) -> Credentials | None:
        """From Dagger arguments: the secret's plaintext is read only with a user name."""
        if not username:
            return None
        return cls.given(username, await password.plaintext() if password is not None else "")
