"""What the attack-matrix tests share: hand-made tokens signed with the running server's
real key (so only the rule under attack can refuse them), the three portals' verifiers
built exactly as `bff.app.build_portal` builds them, and refusal checks that also prove
the genuine token still passes (so no test can pass by refusing everything)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from tenantgate.demo.portal_configs import portal_config
from tenantgate.guard import RemoteKeySet, TokenVerifier
from tenantgate.guard.errors import GuardError, InvalidToken
from tenantgate.identity.domain.errors import InvalidToken as IdentityInvalidToken

from ..identity.harness import ISSUER, PORT_BASE, World
from ..jose_helpers import b64, es256, js, unb64

FIRST = "First Harbor Bank"
PORTAL_NAMES = ("admin", "reporting", "customer")
REFUSED_BEARER = {"error": "invalid_token", "error_description": IdentityInvalidToken.description}


def claims_of(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return value


def verifier_for(world: World, name: str) -> TokenVerifier:
    """The verifier a portal uses (`build_portal`): its audience, the JWKS over HTTP."""
    config = portal_config(name, world.seed.clients, PORT_BASE)
    keys = RemoteKeySet(f"{config.issuer}/jwks.json", world.http, max_age=300, cooldown=10)
    return TokenVerifier(
        issuer=config.issuer, audience=config.audience, keys=keys, clock=world.clock.now
    )


@dataclass
class Forge:
    """A genuine token of the running server and the real signing key behind it."""

    world: World
    token: str
    real: ec.EllipticCurvePrivateKey
    kid: str
    public_jwk: dict[str, Any]
    verifier: TokenVerifier  # the admin portal's guard: where this token belongs

    @classmethod
    async def of(cls, world: World, token: str | None = None) -> Forge:
        if token is None:
            token = str((await world.login("admin-portal", "admin"))["access_token"])
        key = world.deps.keyring.signing_key()
        real = key.private.private_key
        assert isinstance(real, ec.EllipticCurvePrivateKey)
        return cls(world, token, real, key.kid, key.public_jwk, verifier_for(world, "admin"))

    @property
    def parts(self) -> list[str]:
        return self.token.split(".")

    @property
    def header(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(unb64(self.parts[0]))
        return value

    @property
    def payload(self) -> dict[str, Any]:
        return claims_of(self.token)

    def signed_raw(self, header: bytes, payload: bytes) -> str:
        signing_input = f"{b64(header)}.{b64(payload)}"
        return f"{signing_input}.{es256(self.real, signing_input.encode())}"

    def signed(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """Signed with the real key: the header and claims given, the rest genuine."""
        payload = {**self.payload, **claims}
        payload = {k: v for k, v in payload.items() if v is not DROP}
        head = {k: v for k, v in (header or self.header).items() if v is not DROP}
        return self.signed_raw(js(head), js(payload))

    def with_header(self, **changes: Any) -> dict[str, Any]:
        return {**self.header, **changes}

    async def refused(
        self, tokens: dict[str, str], *, statuses: frozenset[int] = frozenset()
    ) -> None:
        """Every token is refused by the portal's guard and by the identity server's
        Bearer door with the one fixed answer; then the genuine token still passes both."""
        problems: list[str] = []
        for name, token in tokens.items():
            assert token != self.token, name
            try:
                await self.verifier.verify(token)
                problems.append(f"{name}: the portal's guard accepted it")
            except InvalidToken:
                pass
            except GuardError as exc:
                problems.append(f"{name}: guard {type(exc).__name__}, not InvalidToken")
            answer = await bearer(self.world, token)
            if answer.status_code in statuses:
                continue
            if answer.status_code != 401 or answer.json() != REFUSED_BEARER:
                problems.append(f"{name}: /tenants {answer.status_code} {answer.text[:120]}")
        assert not problems, "\n".join(problems)
        await self.accepted(self.token)

    async def accepted(self, token: str) -> None:
        await self.verifier.verify(token)
        answer = await bearer(self.world, token)
        assert answer.status_code == 200, answer.text


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()


async def bearer(world: World, token: str, path: str = "/tenants") -> httpx.Response:
    header = b"Bearer " + token.encode("utf-8", "surrogatepass")
    return await world.http.get(path, headers={b"Authorization": header})


def assert_no_server_error(response: httpx.Response, what: str = "") -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    assert "Traceback" not in response.text, what


__all__ = ["ISSUER"]
