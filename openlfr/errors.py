"""Errors whose message is fit to show a person as it is: one line, naming the thing at fault."""

from __future__ import annotations


class OpenLFRError(Exception):
    """Base of every error openlfr raises on purpose."""


class ModelFileError(OpenLFRError):
    """A model file is missing or its SHA-256 differs from the pinned one."""


class ImageRejected(OpenLFRError):
    """An enrolment image cannot be used (not an image, truncated, too large, no face, several)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class FrameShapeError(OpenLFRError, ValueError):
    """An array handed to a per-frame type does not have the shape or dtype it must have."""


class SourceError(OpenLFRError):
    """A frame source could not be opened or broke while reading."""


class RuleViolation(OpenLFRError):
    """A domain rule refused an act; the message cites the rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class StoreError(OpenLFRError):
    """The store cannot be opened or written: the message names the file and the cause."""


class StoreFull(StoreError):
    """The database or its disk is full ("store full: <file>: <cause>"); nothing of the failed
    write was kept (its transaction rolled back)."""


class StoreBusy(StoreError):
    """Another writer held the database past the busy timeout ("store busy: <file>: ..."); the
    failed write rolled back whole, so it can be retried."""
