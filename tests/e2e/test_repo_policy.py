"""Scopes that hold for repository URLs (src/core/repo_policy.c): a
developer token cannot point a component at a path on the server (file://)
nor at the server's own loopback or link-local addresses (cloud metadata);
an admin token can, and ferryd --allow-local-repos allows it for everyone."""

import pytest

from ferry import Ferryd
from test_foundation import make_token

LOCAL = ["file:///etc", "file:///var/lib/ferry/git/other-project.git",
         "http://127.0.0.1:7700/x.git", "https://127.8.9.10/x", "http://localhost/x",
         "git://api.localhost/x", "http://169.254.169.254/latest/meta-data/",
         "http://[::1]:8080/x", "ssh://git@0.0.0.0/x", "http://[::ffff:127.0.0.1]/x"]


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    f = Ferryd(str(tmp_path_factory.mktemp("repopolicy") / "data")).start()
    f.ok("project", "create", "shop")
    yield f
    f.stop()


def test_developer_cannot_use_local_repositories(d):
    dev = make_token(d, "developer", project="shop")["token"]
    for i, url in enumerate(LOCAL):
        r = d.cli("component", "create", "shop/l%d" % i, "--repo", url, "--json", token=dev)
        assert r.rc == 1 and r.err_json["status"] == 403, (url, r)
        assert "--allow-local-repos" in r.err_json["error"], r.err_json
    assert [c["name"] for c in d.ok("component", "list", "shop")] == []
    d.ok("component", "create", "shop/ok", "--repo", "https://git.example/x", token=dev)
    r = d.cli("component", "update", "shop/ok", "--repo", "file:///srv/x", "--json", token=dev)
    assert r.rc == 1 and r.err_json["status"] == 403
    assert d.ok("component", "show", "shop/ok")["repo"] == "https://git.example/x"


def test_admin_may_use_local_repositories(d):
    d.ok("component", "create", "shop/mine", "--repo", "file:///srv/x")
    d.ok("component", "create", "shop/lo", "--repo", "http://127.0.0.1:9418/x")


def test_server_flag_allows_local_repositories(tmp_path):
    f = Ferryd(str(tmp_path / "data"), extra=["--allow-local-repos"]).start()
    try:
        f.ok("project", "create", "shop")
        dev = make_token(f, "developer", project="shop")["token"]
        f.ok("component", "create", "shop/a", "--repo", "file:///srv/x", token=dev)
        f.ok("component", "create", "shop/b", "--repo", "http://127.0.0.1:9/x", token=dev)
    finally:
        f.stop()
