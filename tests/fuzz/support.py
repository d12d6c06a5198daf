"""Schema-driven fuzzing with schemathesis, in-process over ASGI.

Every app is loaded with ``schemathesis.openapi.from_asgi`` and each of its operations is
fuzzed by a Hypothesis test built here: bounded examples, a fixed seed, no example database,
no shrinking (a failure is reported with the exact case that produced it).

Two properties are checked on every response:

- ``not_a_server_error`` (schemathesis): no 5xx, whatever the input;
- ``refuses_anonymous`` (ours): an operation that is not on the public allow-list answers a
  request without credentials with 401 or 403 — or, for an HTML page, a redirect to sign in.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.python import asgi
from schemathesis.schemas import APIOperation, BaseSchema

SEED = 20240611
MAX_EXAMPLES = 30
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]
Check = Callable[[CheckContext, Response, AnyCase], bool | None]


def operations(schema: BaseSchema) -> list[Operation]:
    """Every operation of the schema; one the loader could not read fails the test."""
    found: list[Operation] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise AssertionError(f"unreadable operation in the schema: {result.err()}")
        found.append(result.ok())
    return found


def refuses_anonymous(login_prefixes: tuple[str, ...]) -> Check:
    """The request carried no credentials: 401/403, or a redirect to a sign-in URL.

    413 and 431 are accepted too: the size limits answer before any route runs, so such a
    request reaches nothing that authentication guards."""

    def check(ctx: CheckContext, response: Response, case: AnyCase) -> bool | None:
        status = response.status_code
        if status in (401, 403, 413, 431):
            return None
        location = response.headers.get("location", [""])[0] if response.headers else ""
        if 300 <= status < 400 and location.startswith(login_prefixes):
            return None
        raise AssertionError(
            f"{case.operation.label} answered {status} to a request without credentials "
            f"(location {location!r}): authentication is not enforced"
        )

    check.__name__ = "refuses_anonymous"
    return check


@dataclass
class Tally:
    """How many requests each fuzz run sent (for the report)."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, label: str, n: int) -> None:
        self.counts[label] = self.counts.get(label, 0) + n


def fuzz(
    operation: Operation,
    *,
    checks: list[Check],
    mode: GenerationMode = GenerationMode.POSITIVE,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    max_examples: int = MAX_EXAMPLES,
) -> int:
    """Run one bounded, seeded Hypothesis test over ``operation``; the number of cases sent."""
    sent = 0

    @seed(SEED)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: AnyCase) -> None:
        nonlocal sent
        sent += 1
        response = case.call(headers=headers, cookies=cookies, allow_redirects=False)
        case.validate_response(response, checks=[not_a_server_error, *checks])

    try:
        run()
    except Unsatisfiable:
        # Hypothesis proved that no input violates this schema (every parameter accepts any
        # string): there is no negative case to send.  Positive data has no such excuse.
        if mode is not GenerationMode.NEGATIVE:
            raise
    return sent


def modes(operation: Operation) -> list[GenerationMode]:
    """Negative data needs something to break: operations without inputs get positive only."""
    inputs = (
        operation.body,
        operation.query,
        operation.path_parameters,
        operation.headers,
        operation.cookies,
    )
    if any(len(group) for group in inputs):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def fuzz_all_modes(operation: Operation, **options: Any) -> int:
    return sum(fuzz(operation, mode=mode, **options) for mode in modes(operation))


@contextmanager
def lifespans() -> Iterator[None]:
    """schemathesis starts each app's lifespan once on its own event loop; end them."""
    try:
        yield
    finally:
        asgi.shutdown_lifespans()


def client(app: Any) -> asgi.ASGIClient:
    """A requests-style browser on ``app``, on schemathesis's event loop."""
    return asgi.get_client(app)


def hidden_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in HIDDEN.findall(page)}


def cookie_of(response: requests.Response) -> str:
    return response.headers["set-cookie"].split(";", 1)[0]


def timed() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
