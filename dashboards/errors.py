"""Exceptions of the dashboards package."""

from __future__ import annotations

from iocsim.errors import IocsimError


class DashboardError(IocsimError):
    """Base of every deliberate error raised by ``iocsim.dashboards``."""


class UnknownLanguage(DashboardError):
    """A dashboard language that has no translation."""

    def __init__(self, lang: str, known: tuple[str, ...]) -> None:
        super().__init__(f"lang: {lang!r} is not one of {', '.join(known)}")
        self.lang = lang
        self.known = known

    def __reduce__(self) -> tuple[type, tuple[str, tuple[str, ...]]]:
        return type(self), (self.lang, self.known)


class UnknownText(DashboardError):
    """A builder asked for a text the translation table lacks."""

    def __init__(self, key: str) -> None:
        super().__init__(f"text: no translation for {key!r}")
        self.key = key

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return type(self), (self.key,)
