"""Typed errors of the domain. The HTTP edge (``workflowsvc.api``) maps each class to a status once."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class: ``code`` is the machine code of the error body, the message names field and value."""

    code = "ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Unauthorized(WorkflowError):
    code = "UNAUTHORIZED"


class BadRequest(WorkflowError):
    code = "BAD_REQUEST"


class Forbidden(WorkflowError):
    code = "FORBIDDEN"


class NotFound(WorkflowError):
    code = "NOT_FOUND"


class Conflict(WorkflowError):
    code = "CONFLICT"


class PayloadTooLarge(WorkflowError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(WorkflowError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class VersionConflict(Exception):
    """A conditional write lost a race: the stored version is not the one the writer read."""


class AlreadyExists(Exception):
    """A conditional put found the key taken (used for idempotency records)."""
