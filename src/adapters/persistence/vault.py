"""The credential vault: app-specific passwords, outside the event log.

Envelope encryption: each secret is sealed with AES-GCM under a key of its own
(the data key); the data key is sealed under the vault's master key.
``destroy`` deletes both, so the secret can never be read again
(crypto-shredding). On SQLite, ``secure_delete`` zeroes the freed pages. On
PostgreSQL the deleted row lingers as a dead tuple until vacuum, still sealed
under the master key.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.persistence.database import Database
from calendar_domain.errors import NotFound

_NONCE = 12
_BLOB = {"sqlite": "BLOB", "postgres": "BYTEA"}


class CredentialVault:
    def __init__(self, database: Database, master_key: bytes) -> None:
        if len(master_key) not in (16, 24, 32):
            raise ValueError("the vault key must be 16, 24 or 32 bytes (base64-encoded)")
        self._master = AESGCM(master_key)
        self._db = database
        self._ready = False

    def _table(self) -> Database:
        if not self._ready:
            blob = _BLOB[self._db.dialect]
            self._db.create([
                "CREATE TABLE IF NOT EXISTS {t}credential_vault ("
                f"credential_ref TEXT PRIMARY KEY, wrapped_key {blob} NOT NULL, sealed {blob} NOT NULL)"
            ])
            self._ready = True
        return self._db

    def store(self, credential_ref: str, secret: str) -> None:
        data_key = AESGCM.generate_key(bit_length=256)
        key_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        aad = credential_ref.encode()
        wrapped = key_nonce + self._master.encrypt(key_nonce, data_key, aad)
        sealed = nonce + AESGCM(data_key).encrypt(nonce, secret.encode(), aad)
        self._table().execute(
            "INSERT INTO {t}credential_vault VALUES (%(ref)s, %(wrapped)s, %(sealed)s)",
            {"ref": credential_ref, "wrapped": wrapped, "sealed": sealed},
        )

    def fetch(self, credential_ref: str) -> str:
        rows = self._table().execute(
            "SELECT wrapped_key, sealed FROM {t}credential_vault WHERE credential_ref = %(ref)s",
            {"ref": credential_ref},
        )
        if not rows:
            raise NotFound("no stored credential for this connection")
        wrapped, sealed = bytes(rows[0][0]), bytes(rows[0][1])
        aad = credential_ref.encode()
        data_key = self._master.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        return AESGCM(data_key).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad).decode()

    def destroy(self, credential_ref: str) -> None:
        self._table().execute(
            "DELETE FROM {t}credential_vault WHERE credential_ref = %(ref)s", {"ref": credential_ref}
        )

    def is_empty(self) -> bool:
        return self._table().execute("SELECT count(*) FROM {t}credential_vault")[0][0] == 0

    def close(self) -> None:
        self._db.close()
