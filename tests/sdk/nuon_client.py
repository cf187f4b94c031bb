"""Drives Nuon's generated Python client (PyPI ``nuon``) against buildmock, unchanged.

Runs in its own virtualenv (the client pins old urllib3). Usage: python nuon_client.py BASE_URL [BUILD_ID];
prints one JSON object with what it saw. Every response is parsed into the client's pydantic models, whose
Strict* fields reject any value of the wrong JSON type. ``python nuon_client.py BASE_URL --fixtures`` instead
parses each build of the bundled fixtures' first component and reports whether the client's models took it.
"""

import json
import sys

import nuon
from nuon.exceptions import ApiException

ORG = "orgabcdefghijklmnopqrstuvw"
COMPONENT = "cmp0123456789abcdefghijklm"

config = nuon.Configuration(host=sys.argv[1])
config.api_key["APIKey"] = "client-token"
config.api_key_prefix["APIKey"] = "Bearer"
config.api_key["OrgID"] = ORG
api = nuon.ComponentsApi(nuon.ApiClient(config))

out = {}
if sys.argv[2:] == ["--fixtures"]:  # where the newest schema and this older client disagree
    config.api_key["OrgID"] = "orgdf0nnt8u8ob9jefcazcou5q"
    raw = nuon.ComponentsApi(nuon.ApiClient(config)).get_component_builds_without_preload_content(
        component_id="cmpwi146p6io410dd3uopq4chl", limit=100
    )
    for item in json.loads(raw.data):
        try:
            nuon.AppComponentBuild.from_dict(item)
            problem = None
        except ValueError as exc:  # pydantic's ValidationError
            problem = str(exc).splitlines()[1]
        out[item["id"]] = {"deploys": len(item["install_deploys"]), "problem": problem}
    print(json.dumps(out))
    sys.exit(0)
if len(sys.argv) > 2:  # read back an existing build only
    build = api.get_build(sys.argv[2])
    out["status"] = build.status
    out["runner_job_status"] = build.runner_job.status if build.runner_job else None
    print(json.dumps(out))
    sys.exit(0)
request = nuon.ServiceCreateComponentBuildRequest(git_ref="main")
created = api.create_component_build(COMPONENT, request)
out["created"] = {"id": created.id, "status": created.status, "component_id": created.component_id}
got = api.get_build(created.id)
out["got_same"] = got.id == created.id
by_component = api.get_component_build(COMPONENT, created.id)
out["by_component_same"] = by_component.id == created.id
latest = api.get_component_latest_build(COMPONENT)
out["latest_same"] = latest.id == created.id
listed = api.get_component_builds(component_id=COMPONENT, limit=5)
out["listed"] = [b.id for b in listed]
out["fields"] = sorted(k for k, v in got.to_dict().items() if v is not None)
out["runner_job_status"] = got.runner_job.status if got.runner_job else None
out["commit_sha"] = got.vcs_connection_commit.sha if got.vcs_connection_commit else None
try:
    api.get_build("bldzzzzzzzzzzzzzzzzzzzzzzz")
    out["not_found"] = "no error"
except ApiException as exc:
    out["not_found"] = {"status": exc.status, "body": json.loads(exc.body)}
print(json.dumps(out))
