"""The deployment's key, and the secrets sealed with it (contract §12).

Secrets (a platform's credential) are stored in the product database as Fernet tokens: AES in
CBC mode with an HMAC, from the `cryptography` library. The key is the deployment's:

- `LEARNING_LOOP_SECRET_KEY` when set (a key made by `Fernet.generate_key()`); required when the
  product database is PostgreSQL, since every process of such a deployment (the CLI, the API,
  the daemon's runs, the Celery workers) must share it;
- on the embedded default, the file `secret.key` under `LEARNING_LOOP_HOME`, made on first use
  with owner-only permissions (0600).

A secret is opened only in the process that uses it, and never leaves it: no output, log,
run config, tag, metadata or error message holds one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from learning_loop.errors import InvalidInput
from learning_loop.settings import Settings

KEY_FILE = "secret.key"
KEY_VARIABLE = "LEARNING_LOOP_SECRET_KEY"
MAKE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def _fernet(key: bytes, where: str) -> Fernet:
    try:
        return Fernet(key)
    except ValueError:
        raise InvalidInput(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
            f"{MAKE_KEY})",
            KEY_VARIABLE,
        ) from None


def _key_file(home: Path) -> bytes:
    """The embedded default's key, made on first use, readable by its owner alone."""
    path = home / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


class SecretBox:
    """Seals and opens a deployment's secrets with its key."""

    def __init__(self, settings: Settings) -> None:
        if settings.secret_key is not None:
            self._fernet = _fernet(settings.secret_key.get_secret_value().encode(), KEY_VARIABLE)
        elif settings.is_embedded:
            self._fernet = _fernet(_key_file(settings.home), str(KEY_FILE))
        else:
            raise InvalidInput(
                f"{KEY_VARIABLE} is not set: a deployment on PostgreSQL needs a key for its "
                f"secrets, shared by every process (make one with {MAKE_KEY})",
                KEY_VARIABLE,
            )

    def seal(self, secret: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(secret, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken:
            raise InvalidInput(
                "the stored credential cannot be opened with this deployment's key (was "
                f"{KEY_VARIABLE} changed?); connect the project again",
                KEY_VARIABLE,
            ) from None
        return value
