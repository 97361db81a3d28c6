"""Expected failures, as values the outer layers turn into typed results."""

from __future__ import annotations

import unicodedata


class ValidationProblem(ValueError):
    """Input that breaks a rule, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundProblem(LookupError):
    """An id that names nothing (of the kind the field asks for)."""

    def __init__(self, field: str, kind: str, id: str, message: str | None = None) -> None:
        super().__init__(message or f"no {kind} with id '{id}'")
        self.field = field
        self.kind = kind
        self.id = id
        self.message = str(self)


ALLOWED_CONTROLS = frozenset("\t\n\r")


def checked_text(value: str, field: str, max_length: int = 200, required: bool = True) -> str:
    """Text trimmed of surrounding space, present when required, not too long, and storable:
    no control characters but tab and line breaks (PostgreSQL refuses NUL), no lone surrogates."""
    trimmed = value.strip()
    if required and not trimmed:
        raise ValidationProblem(field, "must not be empty")
    if len(trimmed) > max_length:
        raise ValidationProblem(field, f"must be at most {max_length} characters")
    for char in trimmed:
        if unicodedata.category(char) in ("Cc", "Cs") and char not in ALLOWED_CONTROLS:
            raise ValidationProblem(field, f"must not contain the character U+{ord(char):04X}")
    return trimmed


class SlotUnavailableProblem(Exception):
    """The slot cannot be taken; `reason` is a SlotReason value."""

    def __init__(self, reason: str, start: object = None) -> None:
        super().__init__(f"the slot is unavailable: {reason}")
        self.reason = reason
        self.start = start


class HoldExpiredProblem(Exception):
    def __init__(self, hold_id: str, expired_at: object) -> None:
        super().__init__(f"hold {hold_id} expired at {expired_at}")
        self.hold_id = hold_id
        self.expired_at = expired_at


class IdempotencyConflictProblem(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key '{key}' was used with other input")
        self.key = key


class ExternalServiceProblem(Exception):
    """An outside service (Google) could not do its part; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(Exception):
    """The caller may not do this (an API key of another provider, or none)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Problem = (
    ExternalServiceProblem
    | ValidationProblem
    | NotFoundProblem
    | SlotUnavailableProblem
    | HoldExpiredProblem
    | IdempotencyConflictProblem
)
