"""Protocol errors with stable wire codes (RFC 6749 §5.2, RFC 6750 §3.1, RFC 8693 §2.2.2).

Each class carries the wire ``error`` code, the HTTP status and one fixed public
description.  The optional ``detail`` is private: it goes to logs and the audit
trail, never to the client, so that no answer tells one failure from another.

    OAuthError
     ├── InvalidRequest          400 invalid_request
     ├── InvalidClient           401 invalid_client
     ├── InvalidGrant            400 invalid_grant
     ├── UnauthorizedClient      400 unauthorized_client
     ├── UnsupportedGrantType    400 unsupported_grant_type
     ├── UnsupportedTokenType    400 unsupported_token_type (RFC 7009 §2.2.1)
     ├── InvalidScope            400 invalid_scope
     ├── InvalidTarget           400 invalid_target (RFC 8693)
     ├── InvalidToken            401 invalid_token (RFC 6750, bearer use)
     ├── InsufficientScope       403 insufficient_scope (RFC 6750)
     └── TemporarilyUnavailable  503 temporarily_unavailable
"""

from __future__ import annotations

from typing import ClassVar


class OAuthError(Exception):
    error: ClassVar[str] = "server_error"
    status: ClassVar[int] = 500
    description: ClassVar[str] = "The request could not be processed."

    def __init__(self, detail: str = "", *, description: str | None = None) -> None:
        super().__init__(detail or self.error)
        self.detail = detail
        self.public_description = description or self.description

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.public_description}


class InvalidRequest(OAuthError):
    error = "invalid_request"
    status = 400
    description = "The request is missing a parameter or is malformed."


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401
    description = "Client authentication failed."


class InvalidGrant(OAuthError):
    error = "invalid_grant"
    status = 400
    description = "The grant is invalid, expired, revoked or was issued to another client."


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    status = 400
    description = "This client may not use this grant type."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    status = 400
    description = "The grant type is not supported."


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"
    status = 400
    description = "The token type is not supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    status = 400
    description = "The requested scope is invalid or exceeds what was granted."


class InvalidTarget(OAuthError):
    error = "invalid_target"
    status = 400
    description = "The requested tenant or audience is not available to this subject."


class InvalidToken(OAuthError):
    error = "invalid_token"
    status = 401
    description = "The access token is invalid, expired or revoked."


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403
    description = "The access token does not allow this request."


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503
    description = "The service is temporarily unavailable; try again shortly."
