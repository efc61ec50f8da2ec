"""A tiny read-only SQL evaluator for the few ``executeSQLQuery`` / ``run sql`` queries the tool sends.

CUCM answers SQL in the Informix dialect; the lab answers the subset our providers use
(docs/cucm-domain.md#axl): ``SELECT [FIRST n] cols FROM table [alias] [, table [alias] ...]
[WHERE a = b AND c LIKE 'x%' ...] [ORDER BY col [ASC|DESC]]`` over in-memory tables (lists of
dicts) that ``simulator.adapters.axl`` derives from the model (``processnode``, ``processnodeservice``,
``typeservice``, ``processconfig``). Anything else is refused the way AXL refuses it: a
``RemoteFaultError`` with Informix's code (201 syntax, -206 unknown table, -217 unknown column).
Column names come back lower-case, as Informix returns them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.errors import RemoteFaultError
from simulator.faces.backends import AXL_SQL_SYNTAX, SqlResult

__all__ = ["Table", "run_query"]

Row = Mapping[str, str | None]
Table = Sequence[Row]
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")|(?P<num>-?\d+)|(?P<op><>|!=|<=|>=|=|<|>|,|\*|\.)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_KEYWORDS = frozenset({"select", "first", "from", "where", "and", "as", "like", "order", "by", "asc", "desc"})


def _syntax(detail: str = "") -> RemoteFaultError:
    return RemoteFaultError(
        "A syntax error has occurred." + (f" ({detail})" if detail else ""), code=AXL_SQL_SYNTAX
    )


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # str | num | op | word
    text: str


def _tokens(sql: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = sql.strip().rstrip(";")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise _syntax(f"near {text[pos : pos + 12]!r}")
        kind = m.lastgroup or "op"
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1].replace(value[0] * 2, value[0])
        out.append(_Tok(kind, value))
        pos = m.end()
    return out


@dataclass(frozen=True, slots=True)
class _Col:
    alias: str | None  # table alias, None = unqualified
    name: str  # column name (lower-case) or "*"


_Operand = _Col | str


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self, word: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        tok = self.toks[self.i]
        return word is None or (tok.kind in ("word", "op") and tok.text.lower() == word)

    def take(self, word: str | None = None) -> _Tok:
        if not self.peek(word):
            raise _syntax(f"expected {word or 'more input'}")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def ident(self) -> str:
        tok = self.take()
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
            raise _syntax(f"unexpected {tok.text!r}")
        return tok.text.lower()

    def column(self) -> _Col:
        if self.peek("*"):
            self.take()
            return _Col(None, "*")
        first = self.ident()
        if self.peek("."):
            self.take()
            if self.peek("*"):
                self.take()
                return _Col(first, "*")
            return _Col(first, self.ident())
        return _Col(None, first)

    def operand(self) -> _Operand:
        tok = self.toks[self.i] if self.i < len(self.toks) else None
        if tok is not None and tok.kind in ("str", "num"):
            self.i += 1
            return tok.text
        return self.column()


def run_query(sql: str, tables: Mapping[str, Table]) -> SqlResult:
    """Evaluate ``sql`` against ``tables`` (name -> rows with lower-case column keys)."""
    p = _Parser(_tokens(sql))
    p.take("select")
    limit: int | None = None
    if p.peek("first"):
        p.take()
        limit = int(p.take().text)
    items: list[tuple[_Col, str]] = []
    while True:
        col = p.column()
        label = col.name
        if p.peek("as"):
            p.take()
            label = p.ident()
        elif p.peek() and not p.peek("from") and not p.peek(","):
            label = p.ident()
        items.append((col, label))
        if not p.peek(","):
            break
        p.take()
    p.take("from")
    sources: list[tuple[str, str]] = []  # (alias, table)
    while True:
        table = p.ident()
        alias = table
        if p.peek() and not p.peek("where") and not p.peek(",") and not p.peek("order"):
            alias = p.ident()
        if table not in tables:
            raise RemoteFaultError(f"The specified table ({table}) is not in the database.", code="-206")
        sources.append((alias, table))
        if not p.peek(","):
            break
        p.take()
    conditions: list[tuple[_Operand, str, _Operand]] = []
    if p.peek("where"):
        p.take()
        while True:
            left = p.operand()
            op = p.take().text.lower()
            if op not in ("=", "<>", "!=", "like"):
                raise _syntax(f"operator {op!r}")
            conditions.append((left, op, p.operand()))
            if not p.peek("and"):
                break
            p.take()
    order: tuple[_Col, bool] | None = None
    if p.peek("order"):
        p.take()
        p.take("by")
        col = p.column()
        descending = False
        if p.peek("asc") or p.peek("desc"):
            descending = p.take().text.lower() == "desc"
        order = (col, descending)
    if p.i != len(p.toks):
        raise _syntax(f"unexpected {p.toks[p.i].text!r}")
    return _evaluate(
        sources=sources, tables=tables, items=items, conditions=conditions, order=order, limit=limit
    )


def _resolve(col: _Col, row: Mapping[str, Row]) -> str | None:
    if col.alias is not None:
        source = row.get(col.alias)
        if source is None or col.name not in source:
            raise RemoteFaultError(f"Column ({col.alias}.{col.name}) not found in any table.", code="-217")
        return source[col.name]
    found = [r for r in row.values() if col.name in r]
    if not found:
        raise RemoteFaultError(f"Column ({col.name}) not found in any table in the query.", code="-217")
    if len(found) > 1:
        raise RemoteFaultError(f"Ambiguous column ({col.name}).", code="-324")
    return found[0][col.name]


def _value(operand: _Operand, row: Mapping[str, Row]) -> str | None:
    return operand if isinstance(operand, str) else _resolve(operand, row)


def _matches(left: str | None, op: str, right: str | None) -> bool:
    if left is None or right is None:
        return False
    if op == "=":
        return left == right
    if op in ("<>", "!="):
        return left != right
    glob = right.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
    glob = glob.replace("%", "*").replace("_", "?")
    return fnmatch.fnmatchcase(left, glob)  # Informix LIKE is case-sensitive


def _evaluate(
    *,
    sources: list[tuple[str, str]],
    tables: Mapping[str, Table],
    items: list[tuple[_Col, str]],
    conditions: list[tuple[_Operand, str, _Operand]],
    order: tuple[_Col, bool] | None,
    limit: int | None,
) -> SqlResult:
    combos: list[dict[str, Row]] = [{}]
    for alias, table in sources:
        combos = [{**c, alias: r} for c in combos for r in tables[table]]
    kept = [c for c in combos if all(_matches(_value(a, c), op, _value(b, c)) for a, op, b in conditions)]
    if order is not None:
        col, descending = order
        kept.sort(key=lambda c: _resolve(col, c) or "", reverse=descending)
    if limit is not None:
        kept = kept[:limit]
    columns: list[str] = []
    getters: list[_Col] = []
    for col, label in items:
        if col.name == "*":
            for alias, table in sources:
                if col.alias in (None, alias):
                    first = tables[table][0] if tables[table] else {}
                    for name in first:
                        columns.append(name)
                        getters.append(_Col(alias, name))
        else:
            columns.append(label)
            getters.append(col)
    rows = tuple(tuple(_resolve(g, c) for g in getters) for c in kept)
    return SqlResult(tuple(columns), rows)
