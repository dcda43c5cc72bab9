"""The credential vault: app-specific passwords, outside the event log.

Envelope encryption: each secret is sealed with AES-GCM under a key of its
own (the data key); the data key is sealed under the vault's master key.
``destroy`` deletes both, so the secret can never be read again
(crypto-shredding). On SQLite, ``secure_delete`` zeroes the freed pages. On
PostgreSQL the deleted row lingers as a dead tuple until vacuum, still sealed
under the master key.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from calendar_domain.errors import NotFound

_NONCE = 12


class _Sealer:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) not in (16, 24, 32):
            raise ValueError("the vault key must be 16, 24 or 32 bytes (base64-encoded)")
        self._master = AESGCM(master_key)

    def seal(self, ref: str, secret: str) -> tuple[bytes, bytes]:
        data_key = AESGCM.generate_key(bit_length=256)
        key_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = key_nonce + self._master.encrypt(key_nonce, data_key, ref.encode())
        sealed = nonce + AESGCM(data_key).encrypt(nonce, secret.encode(), ref.encode())
        return wrapped, sealed

    def open(self, ref: str, wrapped: bytes, sealed: bytes) -> str:
        data_key = self._master.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], ref.encode())
        return AESGCM(data_key).decrypt(sealed[:_NONCE], sealed[_NONCE:], ref.encode()).decode()


class SQLiteCredentialVault:
    def __init__(self, path: Path, master_key: bytes) -> None:
        self._sealer = _Sealer(master_key)
        self._path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA journal_mode = DELETE")
            db.execute(
                "CREATE TABLE IF NOT EXISTS credential_vault ("
                "credential_ref TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, sealed BLOB NOT NULL)"
            )
            self._db = db
        return self._db

    def store(self, credential_ref: str, secret: str) -> None:
        wrapped, sealed = self._sealer.seal(credential_ref, secret)
        with self._lock:
            self._connection().execute(
                "INSERT INTO credential_vault VALUES (?, ?, ?)", (credential_ref, wrapped, sealed)
            )

    def fetch(self, credential_ref: str) -> str:
        with self._lock:
            row = self._connection().execute(
                "SELECT wrapped_key, sealed FROM credential_vault WHERE credential_ref = ?",
                (credential_ref,),
            ).fetchone()
        if row is None:
            raise NotFound("no stored credential for this connection")
        return self._sealer.open(credential_ref, row[0], row[1])

    def destroy(self, credential_ref: str) -> None:
        with self._lock:
            self._connection().execute(
                "DELETE FROM credential_vault WHERE credential_ref = ?", (credential_ref,)
            )

    def is_empty(self) -> bool:
        with self._lock:
            return self._connection().execute("SELECT count(*) FROM credential_vault").fetchone()[0] == 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class PostgresCredentialVault:
    def __init__(self, conninfo: dict[str, Any], schema: str, master_key: bytes) -> None:
        self._sealer = _Sealer(master_key)
        self._conninfo = conninfo
        self._table = f'"{schema}".credential_vault'
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._db is None or self._db.closed:
            db = psycopg.connect(**self._conninfo, autocommit=True)
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} ("
                "credential_ref TEXT PRIMARY KEY, wrapped_key BYTEA NOT NULL, sealed BYTEA NOT NULL)"
            )
            self._db = db
        return self._db

    def store(self, credential_ref: str, secret: str) -> None:
        wrapped, sealed = self._sealer.seal(credential_ref, secret)
        with self._lock:
            self._connection().execute(
                f"INSERT INTO {self._table} VALUES (%s, %s, %s)", (credential_ref, wrapped, sealed)
            )

    def fetch(self, credential_ref: str) -> str:
        with self._lock:
            row = self._connection().execute(
                f"SELECT wrapped_key, sealed FROM {self._table} WHERE credential_ref = %s",
                (credential_ref,),
            ).fetchone()
        if row is None:
            raise NotFound("no stored credential for this connection")
        return self._sealer.open(credential_ref, bytes(row[0]), bytes(row[1]))

    def destroy(self, credential_ref: str) -> None:
        with self._lock:
            self._connection().execute(
                f"DELETE FROM {self._table} WHERE credential_ref = %s", (credential_ref,)
            )

    def is_empty(self) -> bool:
        with self._lock:
            row = self._connection().execute(f"SELECT count(*) FROM {self._table}").fetchone()
        return row is not None and row[0] == 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
