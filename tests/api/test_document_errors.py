"""A document that does not parse or validate, or variables that do not fit,
is refused as InvalidData (code 22) like any other bad input."""

from __future__ import annotations

import pytest

from tests.conftest import error_code


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ applications { data { id }", None),
        ("{ applications { data { noSuchField } } }", None),
        ("{ noSuchRoot }", None),
        ("query($first: Int) { applications(first: $first) { totalCount } }", {"first": "x"}),
        ("query($id: ID!) { application(id: $id) { id } }", None),
    ],
)
async def test_request_errors_carry_invalid_data(api, query, variables):
    error = await api.error(query, variables)
    assert error_code(error) == 22
    assert error["extensions"]["error"] == "InvalidData"
    assert "path" not in error


async def test_errors_of_resolvers_keep_their_codes(api):
    error = await api.error("{ applications { totalCount } }", token=api.mint(scopes=[]))
    assert error_code(error) == 23
    assert error["path"] == ["applications"]
