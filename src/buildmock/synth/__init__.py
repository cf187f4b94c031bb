"""Seeded synthesis of vendor-shaped data."""

from __future__ import annotations

from buildmock.synth.factory import Synth

__all__ = ["Synth"]
