from tests.conftest import error_code


async def test_register_and_read_application(api):
    data = await api.data('mutation { registerApplication(in: {name: "a1"}) { id name labels } }')
    app = data["registerApplication"]
    assert app["labels"] == {"scenarios": ["DEFAULT"]}
    read = await api.data("query($id: ID!) { application(id: $id) { name } }", {"id": app["id"]})
    assert read["application"]["name"] == "a1"


async def test_missing_token_is_unauthorized(api):
    error = await api.error("{ applications { totalCount } }", token="")
    assert error_code(error) == 26
