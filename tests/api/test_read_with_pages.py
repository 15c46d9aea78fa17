"""What a page of applications reads for all its items at once (labels,
eventing, bundle contents, instance auths) answers exactly as the per-object
loaders do: the same items, filters, pages and cursors."""

from __future__ import annotations

from tests.api.test_bundles import ADD_API, ADD_BUNDLE, REGISTER, api_input

ADD_DOCUMENT = """mutation($bundle: ID!, $in: DocumentInput!) {
  addDocumentToBundle(bundleID: $bundle, in: $in) { id }
}"""
CONTENTS = """
  id name
  apiDefinitions(group: $group, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } data { id name group }
  }
  everything: apiDefinitions { totalCount data { id } }
  eventDefinitions(first: $first) { totalCount data { id } }
  documents(first: $first, after: $after) { pageInfo { hasNextPage } data { id title } }
  instanceAuths { id }
"""
# One bundle through `bundle(id)` (per-object loaders) ...
ONE = f"""query($app: ID!, $bundle: ID!, $group: String, $first: Int, $after: PageCursor) {{
  application(id: $app) {{ labels eventingConfiguration {{ defaultURL }}
    bundle(id: $bundle) {{ {CONTENTS} }} }} }}"""
# ... and every bundle of every application of a page, through fragments.
PAGE = f"""query($group: String, $first: Int, $after: PageCursor) {{
  applications {{ data {{ id ...Labels bundles {{ data {{ ...Contents }} }} }} }} }}
fragment Labels on Application {{ labels eventingConfiguration {{ defaultURL }} }}
fragment Contents on Bundle {{ {CONTENTS} }}"""


async def _seed(api) -> list[tuple[str, str]]:
    """Two applications with two bundles each, of grouped definitions and documents."""
    bundles = []
    for app_number in range(2):
        register = {"name": f"shop-{app_number}", "labels": {"team": f"t{app_number}"}}
        app = (await api.data(REGISTER, {"in": register}))["registerApplication"]["id"]
        for bundle_number in range(2):
            bundle = (
                await api.data(ADD_BUNDLE, {"app": app, "in": {"name": f"b{bundle_number}"}})
            )["addBundle"]["id"]
            for n in range(3 + bundle_number):
                group = "even" if n % 2 == 0 else "odd"
                await api.data(ADD_API, {"bundle": bundle, "in": api_input(f"api{n}", group=group)})
                document = {
                    "title": f"doc{n}",
                    "displayName": "d",
                    "description": "d",
                    "format": "MARKDOWN",
                    "data": "# d",
                }
                await api.data(ADD_DOCUMENT, {"bundle": bundle, "in": document})
            bundles.append((app, bundle))
    return bundles


async def _compare(api, bundles: list[tuple[str, str]], variables: dict) -> None:
    page = (await api.data(PAGE, variables))["applications"]["data"]
    seen = 0
    for application in page:
        for listed in application["bundles"]["data"]:
            ids = {"app": application["id"], "bundle": listed["id"]}
            alone = (await api.data(ONE, {**ids, **variables}))["application"]
            assert listed == alone["bundle"]
            assert application["labels"] == alone["labels"]
            assert application["eventingConfiguration"] == alone["eventingConfiguration"]
            seen += 1
    assert seen == len(bundles)


async def test_a_page_answers_as_each_object_alone(api):
    bundles = await _seed(api)
    await _compare(api, bundles, {})
    await _compare(api, bundles, {"group": "even", "first": 1})


async def test_pages_of_contents_follow_their_cursors(api):
    bundles = await _seed(api)
    first = (await api.data(PAGE, {"first": 2}))["applications"]["data"]
    cursor = first[0]["bundles"]["data"][1]["apiDefinitions"]["pageInfo"]["endCursor"]
    assert first[0]["bundles"]["data"][1]["apiDefinitions"]["pageInfo"]["hasNextPage"]
    await _compare(api, bundles, {"first": 2, "after": cursor})
    later = (await api.data(PAGE, {"first": 2, "after": cursor}))["applications"]["data"]
    names = [d["name"] for d in later[0]["bundles"]["data"][1]["apiDefinitions"]["data"]]
    assert names == ["api2", "api3"]
