"""/healthz: the public answer, the verbose one (a token, each part's
state) and the free-space floor that refuses builds before they start."""

import time

from ferry import Ferryd


def test_verbose_health_needs_a_token_and_lists_the_parts(ferryd):
    r = ferryd.api("GET", "/healthz", token=None)
    assert r.status_code == 200 and r.json()["disk"] == "ok" and "parts" not in r.json()
    assert ferryd.api("GET", "/healthz?verbose=1", token=None).status_code == 401
    assert ferryd.api("GET", "/healthz?verbose=2").status_code == 400
    deadline = time.time() + 60
    while True:
        h = ferryd.api("GET", "/healthz?verbose=1").json()
        if h["parts"]["registry"]["state"] != "starting" or time.time() > deadline:
            break
        time.sleep(0.5)
    parts = h["parts"]
    assert parts["store"]["state"] == "up" and parts["store"]["bytes"] > 0
    assert parts["store"]["schema"] == h["schema"]
    assert parts["registry"]["state"] == "up" and parts["registry"]["pid"] > 0, parts
    assert parts["registry"]["host"].startswith("127.0.0.1:")
    assert parts["gateway"]["state"] == "not started"  # nothing deployed yet
    assert parts["disk"]["free_bytes"] > 0 and parts["disk"]["low"] is False
    assert parts["disk"]["min_free_bytes"] == 512 << 20
    assert h["status"] == "ok"
    mem = h["memory"]
    assert mem["heap_in_use_bytes"] > mem["sqlite_bytes"] > 0, mem
    assert mem["store_connections"] >= 1 and 0 <= mem["store_connections_idle"] <= mem["store_connections"]


def test_low_free_space_refuses_builds_and_is_reported(tmp_path):
    # a floor above what the file system has: the disk is "low"
    d = Ferryd(str(tmp_path / "data"), extra=["--min-free-space", str(1 << 30)]).start()
    try:
        h = d.api("GET", "/healthz", token=None).json()
        assert h["status"] == "degraded" and h["disk"] == "low"
        v = d.api("GET", "/healthz?verbose=1").json()
        assert v["parts"]["disk"]["low"] is True
        d.ok("project", "create", "shop")
        d.ok("component", "create", "shop/web", "--repo", "file://" + str(tmp_path / "x.git"))
        r = d.cli("build", "shop/web", "--json")
        assert r.rc == 1, r
        err = r.err_json
        assert err["status"] == 507 and err["code"] == "insufficient_storage"
        assert "not enough free space for a build" in err["error"] and "--min-free-space" in err["error"]
        assert d.ok("builds", "shop/web") == []  # nothing half-made
    finally:
        d.stop()
    # no floor: builds are accepted again
    d = Ferryd(str(tmp_path / "data"), extra=["--min-free-space", "0"]).start()
    try:
        assert d.api("GET", "/healthz", token=None).json()["disk"] == "ok"
        r = d.cli("build", "shop/web", "--json")
        assert r.rc == 0, r
    finally:
        d.stop()
