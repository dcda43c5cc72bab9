"""Friendly to the tools people use: reflection serves the error detail types, and
the embedded store's files are private to the service's user."""

from __future__ import annotations

import stat
from pathlib import Path

from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.support.grpc_service import Service


def test_reflection_serves_the_google_rpc_error_details(embedded_service: Service) -> None:
    """grpcurl and buf curl decode ErrorInfo and BadRequest only if reflection knows them."""
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(embedded_service.channel))
    for name in ("google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.Status"):
        assert pool.FindMessageTypeByName(name).full_name == name
    assert pool.FindServiceByName("calendarintegration.v1.ConnectionService").methods


def test_the_data_directory_and_the_sqlite_files_are_private(embedded_service: Service) -> None:
    data = Path(embedded_service.container.settings.data_dir)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = sorted(data.glob("*.sqlite*"))
    assert {p.name for p in files} >= {"events.sqlite", "views.sqlite", "availability.sqlite", "vault.sqlite", "sync.sqlite"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
