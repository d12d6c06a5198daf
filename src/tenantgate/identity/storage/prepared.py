"""Hot statements compiled once and run straight on the embedded database's cursor.

On the SQLite sync lane (``embedded_sqlite``) a statement itself takes a few microseconds;
SQLAlchemy's per-execution machinery around it (execution context, parameter processing,
cursor result) took 25-35 µs more, and a login or a refresh runs six to ten of them.
:class:`Prepared` keeps the statement an ordinary SQLAlchemy Core construct, compiled by
SQLAlchemy for the connection's dialect, and on the lane skips only that machinery: the
compiled SQL goes to the ``sqlite3`` cursor with its parameters in order, through the
same bind and result processors SQLAlchemy would apply, and a driver error comes back as
the same ``sqlalchemy.exc`` exception.  Everywhere else (PostgreSQL, in-memory SQLite,
or SQLAlchemy's statement logging switched on) it is exactly
``conn.execute(statement, params)``.

Measured on this project's 2-core machine: a login's nine statements in one lane
transaction took 420-490 µs through ``Connection.execute`` and 160-210 µs this way.
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

__all__ = ["Prepared"]

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
    column defaults): those go through ``Connection.execute``."""
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys))
    if not compiled.positional or compiled.positiontup is None:
        return None
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    if compiled.escaped_bind_names:
        return None
    # Column defaults computed per execution, or RETURNING added to read generated keys:
    # SQLAlchemy's execution context does that work, so leave such statements to it.
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.implicit_returning:
        return None
    names = tuple(compiled.positiontup)
    binds = compiled.binds
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
        result_processors = tuple(
            (i, proc)
            for i, column in enumerate(columns)
            if (proc := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None
        )
    return _Compiled(compiled.string, names, defaults, bind_processors, make_row, result_processors)
