"""The tiny SQL evaluator behind ``executeSQLQuery`` / ``run sql`` (simulator/adapters/sql.py)."""

from __future__ import annotations

import pytest

from reconciler.errors import RemoteFaultError
from simulator.adapters.sql import run_query

TABLES = {
    "processnodeservice": [
        {"pkid": "1", "servername": "pub", "tkservice": "0", "enable": "t"},
        {"pkid": "2", "servername": "sub1", "tkservice": "2", "enable": "t"},
        {"pkid": "3", "servername": "sub1", "tkservice": "0", "enable": "f"},
    ],
    "typeservice": [{"enum": "0", "name": "Cisco CallManager"}, {"enum": "2", "name": "Cisco Tftp"}],
    "processconfig": [
        {"paramname": "PrepareClusterForRollbackToPre80", "paramvalue": "F"},
        {"paramname": "ClusterSecurityMode", "paramvalue": "1"},
    ],
}


def test_join_with_aliases_and_column_alias_as_the_providers_query_it() -> None:
    result = run_query(
        "select pns.servername, ts.name as service, pns.enable from processnodeservice pns, typeservice ts "
        "where pns.tkservice = ts.enum",
        TABLES,
    )
    assert result.columns == ("servername", "service", "enable")
    assert result.rows == (
        ("pub", "Cisco CallManager", "t"),
        ("sub1", "Cisco Tftp", "t"),
        ("sub1", "Cisco CallManager", "f"),
    )


def test_like_is_case_sensitive_and_equality_with_double_quotes() -> None:
    like = run_query(
        "select paramname, paramvalue from processconfig where paramname like '%ollback%'", TABLES
    )
    assert like.rows == (("PrepareClusterForRollbackToPre80", "F"),)
    assert (
        run_query("SELECT paramvalue FROM processconfig WHERE paramname LIKE '%OLLBACK%'", TABLES).rows == ()
    )
    eq = run_query('select paramvalue from processconfig where paramname="ClusterSecurityMode";', TABLES)
    assert eq.rows == (("1",),)


def test_star_first_and_order_by() -> None:
    result = run_query("select first 2 * from processnodeservice order by servername desc", TABLES)
    assert result.columns == ("pkid", "servername", "tkservice", "enable")
    assert [r[1] for r in result.rows] == ["sub1", "sub1"]


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("update processconfig set paramvalue = 'T'", "201"),
        ("select x from nothing", "-206"),
        ("select nope from processconfig", "-217"),
        ("select pkid from processnodeservice a, processnodeservice b", "-324"),
        ("select paramname from processconfig where paramname >", "201"),
    ],
)
def test_errors_carry_informix_codes(sql: str, code: str) -> None:
    with pytest.raises(RemoteFaultError) as caught:
        run_query(sql, TABLES)
    assert caught.value.code == code
