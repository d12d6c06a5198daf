"""Any standard JOSE library verifies our access tokens with nothing but the JWKS.
PyJWT is not used by src/, so this is an outside check of the wire format."""

from __future__ import annotations

import json

import jwt
import pytest

from ..harness import ISSUER, World

pytestmark = pytest.mark.anyio


async def test_pyjwt_verifies_an_access_token_from_the_jwks_alone(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    token = scoped["access_token"]
    meta = (await world.http.get("/.well-known/oauth-authorization-server")).json()
    jwks = (await world.http.get(meta["jwks_uri"].removeprefix(ISSUER))).json()
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        audience="admin-api",
        issuer=meta["issuer"],
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    assert claims["tenant"] == scoped["tenant"]["ref"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


async def test_pyjwt_refuses_a_token_edited_after_signing(world: World) -> None:
    token = (await world.admin_in("First Harbor Bank"))["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["permissions"].append("sessions:manage")
    edited = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    jwks = (await world.http.get("/jwks.json")).json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            f"{header}.{edited}.{signature}", key.key, algorithms=["ES256"], audience="admin-api"
        )
