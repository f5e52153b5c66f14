"""The OpenAPI description served by a real ferryd, and real answers checked
against it (the route-table check itself is tests/unit/api/test_openapi.c)."""

import pytest

from openapi_check import Description


def test_openapi_needs_a_token_and_describes_every_operation(ferryd):
    assert ferryd.api("GET", "/api/v1/openapi.json", token=None).status_code == 401
    r = ferryd.api("GET", "/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    doc = r.json()
    assert doc["openapi"] == "3.0.3"
    assert doc["security"] == [{"token": []}, {"session": []}]
    ops = [(m, p, op) for p, o in doc["paths"].items() for m, op in o.items()]
    assert len(ops) >= 50
    for m, p, op in ops:
        assert "default" in op["responses"], (m, p)
        refs = [x.get("$ref") for x in op.get("parameters", [])]
        for name in [s[1:-1] for s in p.split("/") if s.startswith("{")]:
            assert "#/components/parameters/" + name in refs, (m, p, name)
    # public routes say so, the others answer 401 without a token
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert doc["paths"]["/api/v1/hooks/{hook}"]["post"]["security"] == []
    assert "401" in doc["paths"]["/api/v1/projects"]["get"]["responses"]
    assert doc["paths"]["/api/v1/projects"]["post"]["x-ferry-audit"] == "project.create"


def test_answers_conform_to_the_description(ferryd, tmp_path):
    d = Description(ferryd.api("GET", "/api/v1/openapi.json").json())
    repo = "file://" + str(tmp_path / "nowhere.git")

    def call(method, path, **kw):
        return d.check(ferryd.api(method, path, **kw), method, path)

    assert call("GET", "/healthz", token=None).status_code == 200
    assert call("GET", "/api/v1/whoami").status_code == 200
    r = call("POST", "/api/v1/session", token=None, json={"token": ferryd.token})
    assert r.status_code == 201 and r.json()["csrf"]
    assert call("POST", "/api/v1/projects", json={"name": "shop"}).status_code == 201
    assert call("POST", "/api/v1/projects", json={"name": "Bad_Name"}).status_code == 400
    assert call("POST", "/api/v1/projects", json={"name": "shop2", "typo": 1}).status_code == 400
    assert call("GET", "/api/v1/projects").status_code == 200
    assert call("GET", "/api/v1/projects/shop").status_code == 200
    assert call("GET", "/api/v1/projects/nope").status_code == 404
    assert call("POST", "/api/v1/projects/shop/environments",
                json={"name": "staging", "after": "development"}).status_code == 201
    assert call("GET", "/api/v1/projects/shop/environments").status_code == 200
    assert call("POST", "/api/v1/projects/shop/components",
                json={"name": "web", "repo": repo}).status_code == 201
    assert call("POST", "/api/v1/projects/shop/components",
                json={"name": "cron", "repo": repo, "type": "scheduled-task",
                      "schedule": "0 3 * * *"}).status_code == 201
    assert call("GET", "/api/v1/projects/shop/components").status_code == 200
    assert call("GET", "/api/v1/projects/shop/components/web").status_code == 200
    assert call("PATCH", "/api/v1/projects/shop/components/web",
                json={"branch": "dev"}).status_code == 200
    assert call("POST", "/api/v1/projects/shop/components/web/configs",
                json={"values": [{"key": "A", "value": "1"},
                                 {"key": "S", "value": "s3cret", "secret": True}]}).status_code == 201
    r = call("GET", "/api/v1/projects/shop/components/web/configs")
    assert "s3cret" not in r.text
    assert call("DELETE", "/api/v1/projects/shop/components/web/configs/A").status_code == 200
    assert call("GET", "/api/v1/projects/shop/components/web/builds").status_code == 200
    assert call("GET", "/api/v1/projects/shop/components/web/deployments").status_code == 200
    assert call("GET", "/api/v1/projects/shop/components/web/status").status_code == 200
    assert call("GET", "/api/v1/projects/shop/components/cron/executions").status_code == 200
    assert call("GET", "/api/v1/projects/shop/components/cron/executions/count").status_code == 200
    assert call("GET", "/api/v1/builds/999").status_code == 404
    assert call("GET", "/api/v1/deployments/999").status_code == 404
    assert call("POST", "/api/v1/tokens", json={"role": "viewer", "name": "v"}).status_code == 201
    assert call("GET", "/api/v1/tokens").status_code == 200
    assert call("GET", "/api/v1/audit").status_code == 200
    r = call("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 0})
    assert r.status_code == 202, r.text
    assert call("GET", "/api/v1/jobs/%d" % r.json()["id"]).status_code == 200
    assert call("DELETE", "/api/v1/projects/shop/components/web").status_code == 200


@pytest.mark.parametrize("method,path", [("GET", "/api/v1/projects"), ("GET", "/api/v1/audit")])
def test_refusals_conform_to_the_error_schema(ferryd, method, path):
    d = Description(ferryd.api("GET", "/api/v1/openapi.json").json())
    r = d.check(ferryd.api(method, path, token="fry_" + "0" * 64), method, path)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
