"""The guard's error tree: stable wire codes, one fixed public sentence per class.

Every refusal a relying party can produce is one of these classes. Each carries

* ``error`` - the stable wire code (RFC 6750 §3.1 names where one exists);
* ``status_code`` - the HTTP status the integration answers with;
* ``description`` - one fixed, public sentence for the class. It never varies with the
  cause, so a caller cannot tell an expired token from a bad signature or a wrong audience
  (no oracle; RFC 8725 §3.1, OWASP JWT cheat sheet);
* ``detail`` - a private explanation for logs only. It must never be rendered to a client.

Third-party exceptions (``cryptography``, ``json``, ``httpx``) are translated exactly once,
at the point where they are caught, with ``raise ... from exc`` so logs keep the cause.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "GuardError",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "KeySetUnavailable",
    "MissingToken",
    "TenantMismatch",
]


class GuardError(Exception):
    """Base of every refusal raised by the guard."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400
    description: ClassVar[str] = "The request was refused."

    def __init__(self, detail: str = "") -> None:
        # The exception's str() is the private detail: it reaches logs and tracebacks,
        # never a response body (integrations render ``description`` instead).
        super().__init__(detail or self.description)
        self.detail = detail or self.description

    def __repr__(self) -> str:
        return f"{type(self).__name__}(error={self.error!r}, detail={self.detail!r})"


class InvalidRequest(GuardError):
    """The request carrying the credential is malformed (RFC 6750 §3.1 ``invalid_request``).

    Used for oversized or syntactically broken ``Authorization`` headers and for requests
    that present more than one credential.
    """

    error = "invalid_request"
    status_code = 400
    description = "The request is malformed."


class InvalidToken(GuardError):
    """The bearer token cannot be accepted (RFC 6750 §3.1 ``invalid_token``).

    Deliberately covers every token failure - parse, header, key, signature, time, issuer,
    audience, type, claim shape - behind one sentence.
    """

    error = "invalid_token"
    status_code = 401
    description = "The access token is invalid."


class MissingToken(InvalidToken):
    """No credential at all. RFC 6750 §3.1: the challenge then carries no error code."""

    description = "Authentication is required."


class InsufficientScope(GuardError):
    """A valid token that lacks a required permission (RFC 6750 §3.1 ``insufficient_scope``)."""

    error = "insufficient_scope"
    status_code = 403
    description = "The access token does not grant this operation."

    def __init__(self, detail: str = "", *, scope: str | None = None) -> None:
        super().__init__(detail)
        # RFC 6750 §3.1 allows naming the scope needed; it tells nothing about the token.
        self.scope = scope


class TenantMismatch(GuardError):
    """A valid token used for a tenant other than the one it is scoped to, or unscoped.

    The tenant comes only from the verified token; a tenant named anywhere in the request
    must equal it (SECURITY.md, ASVS 8.2.2).
    """

    error = "tenant_mismatch"
    status_code = 403
    description = "The access token is not valid for this tenant."


class KeySetUnavailable(GuardError):
    """The issuer's key set could not be obtained and no usable cached copy exists.

    This is an outage of the issuer, not a fault of the token, so it is not a 401: a client
    that refreshed its token would gain nothing.
    """

    error = "temporarily_unavailable"
    status_code = 503
    description = "Token verification is temporarily unavailable."
