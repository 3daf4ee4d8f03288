"""Core statements of the write path rendered once per dialect and run as driver SQL on the DB-API cursor.

A Core statement run with ``Connection.execute`` pays, at every execution, SQLAlchemy's compiled-cache lookup,
its parameter processing and its result set-up: 45-60 µs for a timeline insert on this project's machine (90-120 µs
for the incident load's 32 columns), several times what SQLite takes to run it (bench/README.md, "Third pass on
target 1").
``Prepared`` renders the same statement once for a dialect (``statement.compile``: the statement stays the one
definition of its SQL), keeps the bind and result processors SQLAlchemy itself would apply to each parameter and
column (the column types' own: a UTC datetime is stored as the very same text), and runs it on the connection's
DB-API cursor, in its transaction, calling the engine's cursor listeners (statement counts) and raising driver
errors as SQLAlchemy's, as ``Connection.execute`` does.

Only statements whose values all come from their parameters qualify: one with Python-side column defaults, or
parameters rendered at execution (expanding ``IN``), is refused when prepared.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None
_MISSING = object()


class Prepared:
    """``statement`` rendered for ``dialect``: its SQL text, how each parameter is converted, how each row is read."""

    def __init__(self, statement: sa.ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None) -> None:
        """``column_keys``: the columns an INSERT or UPDATE is given values for (as ``Connection.execute`` learns them
        from its first parameter set)."""
        keys = list(column_keys) if column_keys is not None else None
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        assert isinstance(compiled, SQLCompiler)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a statement with column defaults computed at execution cannot be prepared")
        if compiled.literal_execute_params or compiled.post_compile_params or compiled.escaped_bind_names:
            raise ValueError("a statement with parameters rendered at execution cannot be prepared")
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        names: Sequence[str] = (compiled.positiontup or []) if self.positional else list(binds)
        # The SQL's parameters, in order: a caller's value (its index in ``_required``) or a constant, converted once.
        self._required: list[tuple[str, _Processor]] = []
        index_of: dict[str, int] = {}
        self._plan: list[tuple[int, Any]] = []  # (index in _required, or -1 for a constant; the constant)
        for name in names:
            bind = binds[name]
            processor: _Processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                if name not in index_of:
                    index_of[name] = len(self._required)
                    self._required.append((name, processor))
                self._plan.append((index_of[name], None))
            else:  # a literal written in the statement (sa.literal, a comparison with a constant)
                value = bind.effective_value
                self._plan.append((-1, processor(value) if processor is not None else value))
        self._names = list(names)
        self._dialect = dialect
        self._types: list[sa.types.TypeEngine[Any]] = []
        self.columns: list[str] = []
        if isinstance(statement, sa.Select):
            self.columns = list(statement.selected_columns.keys())
            self._types = [column.type.dialect_impl(dialect) for column in statement.selected_columns]
        self._results: list[_Processor] | None = None  # from the first result's column types (PostgreSQL's OIDs)
        self._row: Any = namedtuple("PreparedRow", self.columns, rename=True) if self.columns else None

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """``values`` (by bind name) converted by their types, in the order (or under the names) the SQL takes; a value
        the SQL takes several times is converted once."""
        given = [values[name] if processor is None else processor(values[name]) for name, processor in self._required]
        ordered = [constant if index < 0 else given[index] for index, constant in self._plan]
        return tuple(ordered) if self.positional else dict(zip(self._names, ordered, strict=True))

    def execute(self, connection: sa.Connection, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> int:
        """Run the statement with one parameter set, or several (an executemany, in order); the rows it changed."""
        if isinstance(values, Mapping):
            cursor = self._run(connection, self.parameters(values), many=False)
        else:
            cursor = self._run(connection, [self.parameters(v) for v in values], many=True)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def first(self, connection: sa.Connection, values: Mapping[str, Any]) -> Any:
        """The first row of a SELECT, each column read as its type reads it (attribute access by column name), or
        None."""
        cursor = self._run(connection, self.parameters(values), many=False)
        try:
            results = self._results
            if results is None:  # the processors SQLAlchemy picks for the driver's column types (PostgreSQL's OIDs)
                codes = [column[1] for column in cursor.description]
                results = self._results = [
                    type_.result_processor(self._dialect, code) for type_, code in zip(self._types, codes, strict=True)
                ]
            raw = cursor.fetchone()
        finally:
            cursor.close()
        if raw is None:
            return None
        assert self._row is not None
        return self._row._make(
            value if processor is None or value is None else processor(value)
            for value, processor in zip(raw, results, strict=True)
        )

    def _run(self, connection: sa.Connection, parameters: Any, *, many: bool) -> Any:
        """Execute on the driver's cursor of ``connection`` (in its transaction), as ``exec_driver_sql`` would without
        its result set-up (for a 32-column row, building its metadata cost more than the query): the engine's
        ``before_cursor_execute`` and ``after_cursor_execute`` listeners are called (with no execution context), a
        driver error is raised as SQLAlchemy's (``OperationalError``, ``IntegrityError``...), and a connection the
        driver reports lost is invalidated, as SQLAlchemy does."""
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        sql = self.sql
        # Listeners on this connection, or cursor listeners on its engine (its other events, such as SQLite's
        # "begin", do not count): iterating the connection's joined dispatcher costs more than the rest of this call.
        engine_events = connection.engine.dispatch
        listened = (
            connection._has_events
            or bool(engine_events.before_cursor_execute)
            or bool(engine_events.after_cursor_execute)
        )
        try:
            if listened:
                for before in connection.dispatch.before_cursor_execute:
                    sql, parameters = before(connection, cursor, sql, parameters, None, many)
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            if listened:
                for after in connection.dispatch.after_cursor_execute:
                    after(connection, cursor, sql, parameters, None, many)
        except self._dialect.loaded_dbapi.Error as exc:
            cursor.close()
            lost = self._dialect.is_disconnect(exc, dbapi_connection, cursor)
            if lost:
                connection.invalidate(exc)
            raise sa.exc.DBAPIError.instance(
                sql,
                parameters,
                exc,
                self._dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=self._dialect,
                ismulti=many,
            ) from exc
        return cursor


class Statement:
    """A Core statement and its ``Prepared`` form for each dialect it has run on (rendered at first use)."""

    def __init__(self, statement: sa.ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = tuple(column_keys) if column_keys is not None else None
        self._prepared: weakref.WeakKeyDictionary[Dialect, Prepared] = weakref.WeakKeyDictionary()
        self._last: tuple[Dialect, Prepared] | None = None  # the last dialect's (kept alive: one dialect at most)

    def on(self, connection: sa.Connection) -> Prepared:
        dialect = connection.dialect
        last = self._last
        if last is not None and last[0] is dialect:  # a process has one engine (a weak lookup per call costs more)
            return last[1]
        prepared = self._prepared.get(dialect, _MISSING)
        if prepared is _MISSING:
            prepared = self._prepared[dialect] = Prepared(self.statement, dialect, self.column_keys)
        assert isinstance(prepared, Prepared)
        self._last = (dialect, prepared)
        return prepared
