"""The managed registry stays bounded (docs/disk.md): after many builds of
one component, the images that no active deployment uses, that are not among
the last --keep-deployments deployments of an environment and not among the
newest --keep-builds builds are deleted from the registry by ferryd, the GC
frees their blobs (tags and disk use go down), `ferry admin df` said what
would be freed beforehand, a rollback target stays deployable, and a build
whose image went is refused with a message. Real ferryd, docker-registry,
buildah, podman and HAProxy."""

import os

import pytest
import requests

from gitserve import registry_host
from hello_app import start_hello, stop_hello
from openapi_check import Description
from test_deploy import wait_answer

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def creds(d):
    with open(os.path.join(d.data, "registry", "password")) as f:
        return ("ferry", f.read().strip())


def registry_get(d, path, **kw):
    return requests.get("http://%s%s" % (registry_host(d.data), path), auth=creds(d), timeout=10, **kw)


def tags(d):
    r = registry_get(d, "/v2/demo/hello/tags/list")
    assert r.status_code == 200, r.text
    return set(r.json().get("tags") or [])


def manifest_exists(d, digest):
    r = registry_get(d, "/v2/demo/hello/manifests/" + digest, headers={"Accept": MANIFEST})
    return r.status_code == 200


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("regprune")
    data = str(root / "data")
    try:
        # build 1 deployed; then builds 2..7, of which 3 and 5 are deployed
        f = start_hello(root, ["--keep-deployments", "2", "--keep-builds", "2",
                               "--registry-gc", "off", "--housekeeping-interval", "3600"],
                        unique=True, builds=1)
        for n in range(2, 8):
            f.repo.commit({"www/build%d.txt" % n: "%d\n" % n}, message="version %d" % n)
            r = f.cli("build", "demo/hello", "--wait", "--json", timeout=600)
            assert r.rc == 0, r
            f.builds.append(r.json)
            if n in (3, 5):
                r = f.cli("deploy", "demo/hello", "--build", r.json["id"], "--wait", timeout=300)
                assert r.rc == 0, r
        yield f
    finally:
        stop_hello(locals().get("f"), data)


def test_old_images_are_deleted_from_the_registry_and_their_space_freed(d):
    b = {n + 1: build for n, build in enumerate(d.builds)}
    assert tags(d) == {x["commit"] for x in b.values()}
    # kept: 5 (active), 3 (the deployment before it), 6 and 7 (newest builds)
    kept, dropped = (3, 5, 6, 7), (1, 2, 4)
    df = d.ok("admin", "df")
    reg = df["registry"]
    assert reg["keep_builds"] == 2 and reg["images"] == 7, reg
    assert reg["reclaimable_images"] == 3 and reg["reclaimable_bytes"] > 0, reg
    Description(d.api("GET", "/api/v1/openapi.json").json()).check(
        d.api("GET", "/api/v1/admin/df"), "GET", "/api/v1/admin/df")
    human = d.cli("admin", "df")
    assert human.rc == 0 and "3 removable (keeping the newest 2 builds)" in human.out, human.out
    before = reg["bytes"]

    r = d.api("POST", "/api/v1/admin/prune", json={"registry_gc": True})
    assert r.status_code == 200, r.text
    out = r.json()
    Description(d.api("GET", "/api/v1/openapi.json").json()).check(r, "POST", "/api/v1/admin/prune")
    assert out["registry_images_deleted"] == 3, out
    assert out["registry_freed_bytes"] >= 0.9 * reg["reclaimable_bytes"], (out, reg)

    assert tags(d) == {b[n]["commit"] for n in kept}
    for n in kept:
        assert manifest_exists(d, b[n]["digest"]), n
    for n in dropped:
        assert not manifest_exists(d, b[n]["digest"]), n
        assert d.ok("build", "show", b[n]["id"])["image"] is None
    after = d.ok("admin", "df")["registry"]
    assert after["bytes"] < before, (before, after)
    assert after["images"] == 4 and after["reclaimable_images"] == 0, after
    assert any(a["action"] == "registry.prune" for a in d.ok("audit", "--limit", "200")
               if a["actor"] == "ferryd")
    # the running service is untouched
    wait_answer(d, "development", "hello from development")


def test_rollback_target_is_kept_and_a_deleted_build_is_refused(d):
    b = {n + 1: build for n, build in enumerate(d.builds)}
    # the default rollback target (the deployment before the active one) is build 3's
    r = d.cli("rollback", "demo/hello", "--env", "development", "--wait", "--json", timeout=300)
    assert r.rc == 0, r
    assert r.json["build"] == b[3]["id"] and r.json["status"] == "active", r.json
    wait_answer(d, "development", "hello from development")
    r = d.cli("deploy", "demo/hello", "--build", b[1]["id"], "--wait", "--json")
    assert r.rc != 0
    assert r.err_json["status"] == 409 and r.err_json["code"] == "image_removed", r.err_json
    assert "no longer in the registry" in r.err_json["error"]
    assert "build commit %s again" % b[1]["commit"][:12] in r.err_json["error"]
    # the newest build, never deployed, was kept: it deploys
    r = d.cli("deploy", "demo/hello", "--build", b[7]["id"], "--wait", timeout=300)
    assert r.rc == 0, r
