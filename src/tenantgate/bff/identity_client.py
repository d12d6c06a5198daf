"""The portal backend's OAuth client to the identity server (RFC 6749, 7009, 8693)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from .config import PortalConfig

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SSO_TOKEN_TYPE = "urn:tenantgate:token-type:sso"


class IdentityRefused(Exception):
    """The identity server said no (4xx); ``error`` is its wire code."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.description = description


class IdentityUnavailable(Exception):
    """The identity server could not be reached or failed (5xx)."""


@dataclass(frozen=True, slots=True)
class PkceLogin:
    state: str
    verifier: str
    url: str


class IdentityClient:
    def __init__(self, config: PortalConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._auth = (config.client_id, config.client_secret)

    def start_login(self) -> PkceLogin:
        state = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._config.client_id,
                "redirect_uri": self._config.redirect_uri,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return PkceLogin(state, verifier, f"{self._config.issuer}/authorize?{query}")

    async def exchange_code(self, code: str, verifier: str) -> dict[str, Any]:
        return await self._token(
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            redirect_uri=self._config.redirect_uri,
        )

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        return await self._token(grant_type="refresh_token", refresh_token=refresh_token)

    async def select_tenant(self, access_token: str, ref: str) -> dict[str, Any]:
        return await self._token(
            grant_type=TOKEN_EXCHANGE,
            subject_token=access_token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            tenant=ref,
        )

    async def mint_sso(self, access_token: str, audience: str) -> dict[str, Any]:
        return await self._token(
            grant_type=TOKEN_EXCHANGE,
            subject_token=access_token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            requested_token_type=SSO_TOKEN_TYPE,
            audience=audience,
        )

    async def redeem_sso(self, sso_token: str) -> dict[str, Any]:
        return await self._token(
            grant_type=TOKEN_EXCHANGE, subject_token=sso_token, subject_token_type=SSO_TOKEN_TYPE
        )

    async def revoke(self, token: str) -> None:
        await self._post("/revoke", {"token": token}, expect_json=False)

    async def list_tenants(self, access_token: str) -> list[dict[str, str]]:
        body = await self.get_as_user(access_token, "/tenants")
        tenants: list[dict[str, str]] = body["tenants"]
        return tenants

    # Identity-server APIs called *as the signed-in user* (RFC 6750 bearer), not as this
    # client: the portal decides which path and what to make of the JSON answer.
    async def get_as_user(
        self, access_token: str, path: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return await self._as_user("GET", access_token, path, params=params)

    async def post_as_user(
        self, access_token: str, path: str, form: dict[str, str]
    ) -> dict[str, Any]:
        return await self._as_user("POST", access_token, path, data=form)

    async def _as_user(
        self, method: str, access_token: str, path: str, **request: Any
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method,
                f"{self._config.issuer}{path}",
                headers={"Authorization": f"Bearer {access_token}"},
                **request,
            )
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(type(exc).__name__) from exc
        return self._answer(response)

    async def resolve_ref(self, ref: str) -> dict[str, Any]:
        return await self._post("/tenant-refs/resolve", {"ref": ref})

    async def _token(self, **form: str) -> dict[str, Any]:
        return await self._post("/token", form)

    async def _post(
        self, path: str, form: dict[str, str], *, expect_json: bool = True
    ) -> dict[str, Any]:
        try:
            response = await self._http.post(
                f"{self._config.issuer}{path}", data=form, auth=self._auth
            )
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(type(exc).__name__) from exc
        if not expect_json and response.status_code == 200:
            return {}
        return self._answer(response)

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 500:
            raise IdentityUnavailable(f"identity server answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise IdentityUnavailable("identity server answered without JSON") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error", "error") if isinstance(body, dict) else "error"
            description = body.get("error_description", "") if isinstance(body, dict) else ""
            raise IdentityRefused(response.status_code, str(error), str(description))
        return body
