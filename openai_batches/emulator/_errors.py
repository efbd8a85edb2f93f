"""The error every emulator layer raises to answer with an API error body.

The app turns an `ApiError` into ``{"error": {"message", "type", "param", "code"}}`` with the
status, the shape the live API uses for every failure.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError"]

_TYPES = {401: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error"}


class ApiError(Exception):
    """An API failure: HTTP status plus the fields of the error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        default = "server_error" if status >= 500 else "invalid_request_error"
        self.type = type or _TYPES.get(status, default)

    def body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    @classmethod
    def invalid(cls, param: str, message: str, code: str = "invalid_value") -> ApiError:
        """Return a 400 for a bad parameter."""
        return cls(400, message, param=param, code=code)

    @classmethod
    def missing(cls, param: str) -> ApiError:
        """Return a 400 for a missing required parameter."""
        return cls(
            400,
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
