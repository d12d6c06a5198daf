"""Hot statements compiled once and run straight on the driver's cursor.

On the SQLite sync lane (``embedded_sqlite``) a statement itself takes a few microseconds;
SQLAlchemy's per-execution machinery around it (execution context, parameter processing,
cursor result) took 25-35 µs more, and a login or a refresh runs six to ten of them.
:class:`Prepared` keeps the statement an ordinary SQLAlchemy Core construct, compiled by
SQLAlchemy for the connection's dialect, and on the lane skips only that machinery: the
compiled SQL goes to the ``sqlite3`` cursor with its parameters in order, through the
same bind and result processors SQLAlchemy would apply, and a driver error comes back as
the same ``sqlalchemy.exc`` exception.

On PostgreSQL (psycopg, async) the same is done on psycopg's cursor, from inside the
greenlet SQLAlchemy runs the transaction function in, on the connection and in the
transaction (or autocommit mode) SQLAlchemy set up, with one switch out of the greenlet per
statement; result processors are chosen from the column types the server reports at the
first execution.  A statement that is all of its work runs without the greenlet
(:func:`run_on_psycopg`, from ``autocommit_connections``): one indexed read cost the server
~125-130 µs of CPU through the greenlet and ~64 µs on a scratch prototype of this path.
A driver error is turned into SQLAlchemy's exception, and when the dialect calls it a
disconnect the connection is invalidated first, as SQLAlchemy does, so the pool never
hands a broken one out again.

Everywhere else (in-memory SQLite, another driver, SQLAlchemy's statement logging switched
on, or cursor event listeners that must see every statement) it is exactly
``conn.execute(statement, params)``.

Measured on this project's 2-core machine: a login's nine statements in one lane
transaction took 420-490 µs through ``Connection.execute`` and 160-210 µs this way.  On
PostgreSQL, in scratch runs of the benchmark's load (four pairs each, alternating order):
refresh grants 545/s → 606/s, SSO hand-offs 116/s → 181/s; logins, bound by Argon2,
unchanged.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.util import await_only

__all__ = ["Prepared", "run_batch_on_psycopg", "run_on_psycopg"]

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One compiled form: SQL, where each positional value comes from, and processors."""

    sql: str
    names: tuple[str, ...]  # the parameter each ``?`` takes, in order
    defaults: Mapping[str, Any]  # values SQLAlchemy bound at construction (``id == 1``)
    bind_processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    make_row: Callable[[Sequence[Any]], Any] | None  # None: the statement returns no rows
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...]


class Prepared:
    """A Core statement to run many times with different parameters.

    ``rows``/``first``/``one`` return tuples with the selected columns as attributes (as
    ``Row`` does); ``run`` returns the number of rows a DML statement matched.
    """

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # One compiled form per set of parameter names: an INSERT without .values()
        # names only the columns it is given, as SQLAlchemy compiles it per call.
        self._forms: dict[tuple[str, ...], _Compiled | None] = {}

    # -- the four ways to run it ------------------------------------------------
    def rows(self, conn: Connection, params: Params) -> list[Any]:
        direct = self._direct(conn, params)
        if direct is None:
            remote = self._remote(conn, params)
            if remote is not None:
                return _run_remote(conn, self.statement, *remote, params, fetch=True)[0]
            return list(conn.execute(self.statement, params).all())
        driver, form = direct
        cursor = self._execute(driver, form, params, conn.dialect)
        try:
            return [self._row(form, raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Params) -> Any | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def one(self, conn: Connection, params: Params) -> Any:
        found = self.rows(conn, params)
        if len(found) != 1:
            raise LookupError(f"expected exactly one row, got {len(found)}")
        return found[0]

    def run(self, conn: Connection, params: Params) -> int:
        """Execute a statement that returns no rows; the rows it matched."""
        direct = self._direct(conn, params)
        if direct is None:
            remote = self._remote(conn, params)
            if remote is not None:
                return _run_remote(conn, self.statement, *remote, params, fetch=False)[1]
            result: Any = conn.execute(self.statement, params)
            return int(result.rowcount)
        driver, form = direct
        cursor = self._execute(driver, form, params, conn.dialect)
        count = cursor.rowcount
        cursor.close()
        return count

    # -- the lane path --------------------------------------------------------
    def _direct(
        self, conn: Connection, params: Params
    ) -> tuple[sqlite3.Connection, _Compiled] | None:
        """The lane's ``sqlite3`` connection and the compiled form for these parameter
        names, or None: run it through ``Connection.execute``."""
        driver = _lane_driver(conn)
        if driver is None:
            return None
        key = tuple(params)
        try:
            form = self._forms[key]
        except KeyError:
            form = self._forms[key] = _compile(self.statement, conn.dialect, key)
        return None if form is None else (driver, form)

    def _remote(self, conn: Connection, params: Params) -> tuple[Any, _Compiled] | None:
        """PostgreSQL through psycopg: the driver's connection and the compiled form, or
        None: run it through ``Connection.execute``."""
        driver = _psycopg_driver(conn)
        if driver is None:
            return None
        key = ("%pg", *params)
        try:
            form = self._forms[key]
        except KeyError:
            form = self._forms[key] = _compile(self.statement, conn.dialect, tuple(params))
        return None if form is None else (driver, form)

    @staticmethod
    def _execute(
        driver: sqlite3.Connection, form: _Compiled, params: Params, dialect: Dialect
    ) -> sqlite3.Cursor:
        merged = {**form.defaults, **params} if form.defaults else params
        values = [merged[name] for name in form.names]
        for index, process in form.bind_processors:
            if values[index] is not None:
                values[index] = process(values[index])
        cursor = driver.cursor()
        try:
            cursor.execute(form.sql, values)
        except sqlite3.Error as exc:
            cursor.close()
            # The exception SQLAlchemy's own execute raises for the same failure.
            raise DBAPIError.instance(
                form.sql, values, exc, sqlite3.Error, dialect=dialect
            ) from exc
        return cursor

    @staticmethod
    def _row(form: _Compiled, raw: Sequence[Any]) -> Any:
        assert form.make_row is not None
        if form.result_processors:
            values = list(raw)
            for index, process in form.result_processors:
                values[index] = process(values[index])
            raw = values
        return form.make_row(raw)


def _run_remote(
    conn: Connection,
    statement: Executable,
    driver: Any,
    form: _Compiled,
    params: Params,
    *,
    fetch: bool,
) -> tuple[list[Any], int]:
    """*form* on the psycopg connection under *conn* (inside SQLAlchemy's greenlet, as
    ``Connection.execute`` would run it), in *conn*'s transaction or autocommit mode: one
    switch out of the greenlet for the whole statement (execute, fetch and close).

    A driver error becomes the ``sqlalchemy.exc`` exception SQLAlchemy raises for it, and a
    broken connection is invalidated first, exactly as SQLAlchemy does on a disconnect, so
    the pool replaces it instead of handing it out again."""
    values = _bound_values(form, params)
    try:
        return await_only(_on_psycopg(statement, driver, form, values, conn.dialect, fetch))
    except Exception as exc:
        error = _dbapi_error(conn.dialect, driver, form, values, exc)
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            conn.invalidate(exc)
        raise error from exc


async def run_on_psycopg(
    prepared: Prepared, conn: Connection, params: Params, *, fetch: bool
) -> tuple[list[Any], int] | None:
    """*prepared* straight on the psycopg connection under *conn*, from a coroutine (no
    greenlet): (rows, row count), or None, with nothing run, when the statement must go
    through SQLAlchemy (see ``Prepared._remote``).  For connections in autocommit mode
    that the caller holds exclusively (autocommit_connections.py).

    A driver error is raised as SQLAlchemy's exception for it; on a disconnect its
    ``connection_invalidated`` is set and the caller must invalidate the connection (the
    synchronous ``Connection.invalidate`` belongs inside SQLAlchemy's greenlet)."""
    remote = prepared._remote(conn, params)
    if remote is None:
        return None
    driver, form = remote
    values = _bound_values(form, params)
    try:
        return await _on_psycopg(prepared.statement, driver, form, values, conn.dialect, fetch)
    except Exception as exc:
        raise _dbapi_error(conn.dialect, driver, form, values, exc) from exc


async def run_batch_on_psycopg(
    conn: Connection, batch: Sequence[tuple[Prepared, Params]]
) -> list[int] | None:
    """The write statements of *batch* as one transaction on the psycopg connection under
    *conn* (held exclusively, in autocommit mode), pipelined: BEGIN, each statement, COMMIT,
    sent together and answered together.  Their row counts, in order; or None, with nothing
    run, when a statement must go through SQLAlchemy.

    If any statement fails the transaction is rolled back and nothing of the batch is
    written; the error is raised as SQLAlchemy's exception for it (``connection_invalidated``
    on a disconnect, when whether the COMMIT happened is unknown)."""
    forms = []
    driver: Any = None
    for prepared, params in batch:
        remote = prepared._remote(conn, params)
        if remote is None:
            return None
        driver = remote[0]
        forms.append((remote[1], _bound_values(remote[1], params)))
    cursors: list[Any] = []
    try:
        async with driver.pipeline(), driver.transaction():
            for form, values in forms:
                cursor = driver.cursor()
                cursors.append(cursor)
                await cursor.execute(form.sql, values)
        return [int(cursor.rowcount) for cursor in cursors]
    except Exception as exc:
        # Pipelined, the error surfaces only once everything was sent: the exception names
        # the batch's last statement (callers rerun a failed batch's statements alone,
        # which then name their own).
        form, values = forms[-1]
        raise _dbapi_error(conn.dialect, driver, form, values, exc) from exc
    finally:
        for cursor in cursors:
            await cursor.close()


def _bound_values(form: _Compiled, params: Params) -> dict[str, Any]:
    merged = {**form.defaults, **params} if form.defaults else params
    values = {name: merged[name] for name in form.names}
    for index, process in form.bind_processors:
        name = form.names[index]
        if values[name] is not None:
            values[name] = process(values[name])
    return values


async def _on_psycopg(
    statement: Executable,
    driver: Any,
    form: _Compiled,
    values: dict[str, Any],
    dialect: Dialect,
    fetch: bool,
) -> tuple[list[Any], int]:
    cursor = driver.cursor()
    processors = _RESULT_PROCESSORS.get(id(form))
    try:
        await cursor.execute(form.sql, values)
        # Only a statement that returns rows is fetched (make_row: its columns).  psycopg
        # builds ``description`` anew on every read of it (~25 µs a statement here), and it
        # is needed once per form, to choose the result processors.
        rows_back = fetch and form.make_row is not None
        raw = await cursor.fetchall() if rows_back else []
        if raw and processors is None:
            processors = _result_processors(statement, form, dialect, cursor.description)
        count = cursor.rowcount
    finally:
        await cursor.close()
    if not raw:
        return [], count
    assert form.make_row is not None
    assert processors is not None
    if not processors:
        return [form.make_row(row) for row in raw], count
    rows = []
    for row in raw:
        values_out = list(row)
        for index, process in processors:
            values_out[index] = process(values_out[index])
        rows.append(form.make_row(values_out))
    return rows, count


def _dbapi_error(
    dialect: Dialect, driver: Any, form: _Compiled, values: Any, exc: Exception
) -> BaseException:
    """SQLAlchemy's exception for a driver error (others unchanged); a disconnect is
    marked ``connection_invalidated`` (the caller invalidates the connection)."""
    dbapi_error = dialect.loaded_dbapi.Error
    if not isinstance(exc, dbapi_error):
        return exc
    invalidated = dialect.is_disconnect(exc, driver, None)
    return DBAPIError.instance(
        form.sql, values, exc, dbapi_error, dialect=dialect, connection_invalidated=invalidated
    )


def _psycopg_driver(conn: Connection) -> Any | None:
    """The psycopg async connection under *conn*, unless statements must go through
    SQLAlchemy: another driver, statement logging on, or cursor event listeners (which
    must see every statement; the tests that count statements are such listeners)."""
    if conn.dialect.driver != "psycopg" or not conn.dialect.is_async:
        return None
    if conn.engine.logger.isEnabledFor(logging.INFO):
        return None
    if conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute:
        return None
    return conn.connection.driver_connection


def _lane_driver(conn: Connection) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under *conn*, unless statements must go through
    SQLAlchemy: another driver, or its statement logging switched on (an operator debugging
    with ``sqlalchemy.engine`` at INFO sees every statement, these included)."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        return None
    if conn.engine.logger.isEnabledFor(logging.INFO):
        return None
    return driver


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled | None:
    """The statement as SQLAlchemy compiles it for *dialect* and these parameter names, or
    None when it needs per-execution work (expanding IN, escaped names, Python-side
    column defaults): those go through ``Connection.execute``.

    ``names`` are the parameters in the order of SQLite's ``?`` placeholders, or the names
    PostgreSQL's ``%(name)s`` placeholders use.  PostgreSQL's result processors depend on
    the column types the server reports, so they are found at the first execution
    (:func:`_result_processors`)."""
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys))
    if compiled.positional and compiled.positiontup is None:
        return None
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    if compiled.escaped_bind_names:
        return None
    # Column defaults computed per execution, or RETURNING added to read generated keys:
    # SQLAlchemy's execution context does that work, so leave such statements to it.
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.implicit_returning:
        return None
    binds = compiled.binds
    names = tuple(compiled.positiontup) if compiled.positional else tuple(binds)
    defaults = {name: binds[name].effective_value for name in names if not binds[name].required}
    bind_processors = tuple(
        (i, proc)
        for i, name in enumerate(names)
        if (proc := binds[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    make_row = None
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
    # Selected columns, or a DML statement's RETURNING columns (none without RETURNING).
    columns = list(getattr(statement, "exported_columns", ()))
    if columns:
        row_type = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        make_row = row_type._make
    if columns and compiled.positional:
        result_processors = tuple(
            (i, proc)
            for i, column in enumerate(columns)
            if (proc := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None
        )
    return _Compiled(compiled.string, names, defaults, bind_processors, make_row, result_processors)


# Result processors of a PostgreSQL form, by id: SQLAlchemy's depend on the type the
# server reports for each column (a float8 needs none, a numeric a conversion).
_RESULT_PROCESSORS: dict[int, tuple[tuple[int, Callable[[Any], Any]], ...]] = {}


def _result_processors(
    statement: Executable, form: _Compiled, dialect: Dialect, description: Sequence[Any]
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    found = _RESULT_PROCESSORS.get(id(form))
    if found is None:
        columns = list(getattr(statement, "exported_columns", ()))
        found = tuple(
            (i, proc)
            for i, (column, described) in enumerate(zip(columns, description, strict=True))
            if (
                proc := column.type.dialect_impl(dialect).result_processor(
                    dialect, described.type_code
                )
            )
            is not None
        )
        _RESULT_PROCESSORS[id(form)] = found
    return found
