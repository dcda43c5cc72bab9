from __future__ import annotations

from tests.support.fixtures import *  # noqa: F403  (pytest fixtures shared by every suite)
