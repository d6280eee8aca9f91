"""Exceptions of the load-test harness."""

from __future__ import annotations

from iocsim.errors import ConfigError, IocsimError


class LoadError(IocsimError):
    """A load run could not be carried out (target unreachable, worker process failed, bad report)."""


class ProfileError(ConfigError):
    """A load profile, flag or threshold is invalid; names the field at fault."""
