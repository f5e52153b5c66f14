"""Gateway metrics per deployment against a real ferryd (buildah, registry,
podman with runc, HAProxy): requests sent through the gateway are counted
for the deployment that answered them, 5xx answers apart, with latency
percentiles, served by GET .../components/C/metrics and `ferry metrics`,
and kept per minute in the store (they survive a restart of ferryd)."""

import time

import pytest
import requests

from ferry import cleanup, gateway_ferryd, hello_files, hello_repo, serve_hello
from cnihold import BridgeHold
from openapi_check import Description
from test_deploy import active

FAIL_CGI = "#!/bin/sh\nprintf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nboom\\n'\n"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    data = str(root / "data")
    f = gateway_ferryd(data)
    hold = BridgeHold().__enter__()
    f.start()
    try:
        f.ok("project", "create", "demo")
        files = hello_files()
        files["www/cgi-bin/fail.cgi"] = FAIL_CGI
        serve_hello(f, hello_repo(root, files, executable=("index.cgi", "fail.cgi")))
        yield f
    finally:
        f.stop()
        cleanup(data)
        hold.__exit__(None, None, None)


def get(d, path):
    return requests.get("http://127.0.0.1:%d%s" % (d.gw, path),
                        headers={"Host": "hello.demo.development.localhost"}, timeout=10)


def metrics(d, since="1h"):
    return d.ok("metrics", "demo/hello", "--env", "development", "--since", since)


def wait_requests(d, dep, n, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = metrics(d)
        mine = [x for x in m["deployments"] if x["deployment"] == dep]
        if mine and mine[0]["requests"] >= n:
            return m, mine[0]
        time.sleep(1)
    raise AssertionError("metrics did not reach %d requests: %r" % (n, m))


def test_requests_and_5xx_counted_per_deployment(d):
    dep = active(d, "development")
    for _ in range(40):
        assert get(d, "/").status_code == 200
    for _ in range(10):
        assert get(d, "/cgi-bin/fail.cgi").status_code == 500
    m, mine = wait_requests(d, dep["id"], 50)
    assert mine["requests"] == 50 and mine["errors_5xx"] == 10, mine
    assert abs(mine["error_ratio"] - 0.2) < 1e-9
    assert mine["seq"] == dep["seq"] and mine["status"] == "active"
    assert 0 < mine["p50_ms"] <= mine["p95_ms"] <= mine["p99_ms"], mine
    assert m["total"]["requests"] == 50 and m["resolution_s"] == 60
    assert sum(r["requests"] for r in m["series"]) == 50
    assert all(r["deployment"] == dep["id"] for r in m["series"])
    spec = Description(d.api("GET", "/api/v1/openapi.json").json())
    path = "/api/v1/projects/demo/components/hello/metrics"
    spec.check(d.api("GET", path + "?env=development&since=10m"), "GET", path)
    human = d.cli("metrics", "demo/hello", "--env", "development")
    assert human.rc == 0, human
    assert "deployment %d (#%d, active): 50 requests, 10 5xx (20.00%%)" % (dep["id"], dep["seq"]) in human.out
    assert "requests per minute" in human.out and "!" in human.out, human.out


def test_bad_queries_are_refused_naming_the_problem(d):
    r = d.cli("metrics", "demo/hello", "--env", "development", "--since", "yesterday", "--json")
    assert r.rc == 1 and r.err_json["status"] == 400 and "since=\"yesterday\"" in r.err_json["error"], r
    r = d.cli("metrics", "demo/hello", "--env", "development", "--since", "30d", "--json")
    assert r.rc == 1 and "7 days" in r.err_json["error"], r
    r = d.cli("metrics", "demo/hello", "--env", "nowhere", "--json")
    assert r.rc == 1 and r.err_json["status"] == 404, r
    r = d.api("GET", "/api/v1/projects/demo/components/hello/metrics")
    assert r.status_code == 400 and "?env=" in r.json()["error"]


def test_minutes_are_kept_across_a_restart(d):
    dep = active(d, "development")
    before = [x for x in metrics(d)["deployments"] if x["deployment"] == dep["id"]][0]["requests"]
    d.stop()
    d.start()
    after = [x for x in metrics(d)["deployments"] if x["deployment"] == dep["id"]][0]
    assert after["requests"] == before and after["errors_5xx"] == 10, (before, after)
    # the gateway kept running; once the new ferryd adopted it (the socket
    # it logs to is bound again then), its requests are counted again
    deadline = time.time() + 60
    while d.log().count("event=gateway_ready") < 2 and time.time() < deadline:
        time.sleep(0.2)
    for _ in range(5):
        assert get(d, "/").status_code == 200
    wait_requests(d, dep["id"], before + 5)


def scrape(d, token=...):
    r = d.api("GET", "/metrics", token=token)
    return r


def samples(text):
    """{(name, frozenset(labels)): value} by the Prometheus client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def test_prometheus_metrics_endpoint(d):
    dep = active(d, "development")
    for _ in range(3):
        assert get(d, "/cgi-bin/fail.cgi").status_code == 500
    assert d.api("GET", "/api/v1/projects/demo/components/hello/status").status_code == 200
    assert d.api("GET", "/api/v1/projects/nope").status_code == 404
    r = scrape(d)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    s = samples(r.text)
    assert s[("ferry_up", frozenset({("version", "0.1.0")}))] == 1
    assert s[("ferry_registry_up", frozenset())] == 1
    assert s[("ferry_gateway_up", frozenset())] == 1
    assert s[("ferry_builds", frozenset({("status", "succeeded")}))] == 1
    assert s[("ferry_build_duration_seconds_count", frozenset({("status", "succeeded")}))] == 1
    assert s[("ferry_build_duration_seconds_sum", frozenset({("status", "succeeded")}))] > 0
    assert s[("ferry_deployments", frozenset({("status", "active")}))] == 1
    status_route = frozenset({("method", "GET"), ("route", "/api/v1/projects/{}/components/{}/status"),
                              ("status", "200")})
    assert s[("ferry_api_requests_total", status_route)] >= 1
    assert s[("ferry_api_requests_total", frozenset({("method", "GET"), ("route", "/api/v1/projects/{}"),
                                                     ("status", "404")}))] >= 1
    # requests since this ferryd started (the test before restarted it)
    assert s[("ferry_gateway_requests_total", frozenset({("code", "5xx")}))] >= 3
    assert s[("ferry_metrics_errors", frozenset())] == 0
    # the bearer token is needed; a project-scoped token is refused (the
    # numbers cover every project)
    assert scrape(d, token=None).status_code == 401
    scoped = d.ok("token", "create", "--role", "viewer", "--project", "demo", "--name", "scraper-demo")["token"]
    r = scrape(d, token=scoped)
    assert r.status_code == 403 and "project scope" in r.json()["error"], r.text
    viewer = d.ok("token", "create", "--role", "viewer", "--name", "scraper")["token"]
    assert scrape(d, token=viewer).status_code == 200
    assert dep
