"""The managed registry takes only ferryd's credentials (docs/images.md,
docs/security.md): from the host, a pull, a push or a delete without them
is refused, and a wrong password too; with the credentials ferryd made
(DATA/registry/password, handed to the tools in DATA/containers/auth.json)
everything works, and ferryd's own builds push. Real ferryd, docker-registry,
buildah and skopeo."""

import json
import os
import stat
import subprocess

import pytest
import requests

from ferry import Ferryd
from gitserve import Repo, containers_env, registry_host, remove_local_images

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ", ".join([MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("regauth")
    f = Ferryd(str(root / "data")).start()
    try:
        f.ok("project", "create", "p")
        repo = Repo(str(root), name="app")
        repo.commit({"Dockerfile": "FROM ferry/busybox\nRUN echo hi > /hi\nUSER 65534\n"})
        f.ok("component", "create", "p/app", "--repo", repo.file_url)
        r = f.cli("build", "p/app", "--wait", "--json", timeout=300)
        assert r.rc == 0, r
        f.build = r.json
        f.root = str(root)
        yield f
    finally:
        f.stop()
        remove_local_images(f.data)


def url(d, path):
    return "http://%s%s" % (registry_host(d.data), path)


def creds(d):
    with open(os.path.join(d.data, "registry", "password")) as f:
        return ("ferry", f.read().strip())


def anonymous_env(d):
    """The tools' environment with an auth file that holds nothing."""
    empty = os.path.join(d.root, "empty-auth.json")
    with open(empty, "w") as f:
        f.write('{"auths": {}}\n')
    e = containers_env(d.data)
    e["REGISTRY_AUTH_FILE"] = empty
    return e


def test_the_secret_is_ferryds_alone(d):
    reg = os.path.join(d.data, "registry")
    for name in ("password", "htpasswd", "config.yml"):
        assert stat.S_IMODE(os.stat(os.path.join(reg, name)).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(os.path.join(d.data, "containers", "auth.json")).st_mode) == 0o600
    user, password = creds(d)
    assert len(password) == 64
    with open(os.path.join(reg, "config.yml")) as f:
        config = f.read()
    assert "htpasswd" in config and password not in config
    with open(os.path.join(reg, "htpasswd")) as f:
        assert f.read().startswith("ferry:$2b$")
    for log in (d.log(), open(os.path.join(reg, "registry.log"), errors="replace").read()):
        assert password not in log
    # the tools get it through the auth file (base64 of user:password)
    with open(os.path.join(d.data, "containers", "auth.json")) as f:
        auths = json.load(f)["auths"]
    assert list(auths) == [registry_host(d.data)]


def test_anonymous_and_wrong_password_requests_are_refused(d):
    for auth in (None, ("ferry", "0" * 64), ("admin", "admin")):
        for method, path in (("GET", "/v2/"), ("GET", "/v2/_catalog"),
                             ("GET", "/v2/p/app/tags/list"),
                             ("POST", "/v2/evil/app/blobs/uploads/")):
            r = requests.request(method, url(d, path), auth=auth, timeout=10)
            assert r.status_code == 401, (method, path, auth, r.status_code, r.text)
            assert r.headers["WWW-Authenticate"].startswith("Basic")
    r = requests.get(url(d, "/v2/_catalog"), auth=creds(d), timeout=10)
    assert r.status_code == 200 and "p/app" in r.json()["repositories"], r.text


def test_unauthenticated_delete_is_refused_and_changes_nothing(d):
    digest = d.build["digest"]
    path = "/v2/p/app/manifests/" + digest
    assert requests.head(url(d, path), auth=creds(d), headers={"Accept": ACCEPT},
                         timeout=10).status_code == 200
    r = requests.delete(url(d, path), timeout=10)
    assert r.status_code == 401, r.text
    r = requests.delete(url(d, path), auth=("ferry", "f" * 64), timeout=10)
    assert r.status_code == 401, r.text
    assert requests.head(url(d, path), auth=creds(d), headers={"Accept": ACCEPT},
                         timeout=10).status_code == 200
    # the image still deploys from there: skopeo with ferry's auth file reads it
    p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "docker://" + d.build["image"]],
                       env=containers_env(d.data), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and json.loads(p.stdout)["Digest"] == digest, p.stderr


def test_push_and_pull_without_credentials_fail_from_the_host(d):
    env = anonymous_env(d)
    src = "docker://%s/ferry/busybox:latest" % registry_host(d.data)
    p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", src], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "unauthorized" in p.stderr.lower(), p
    # a push of a local directory image: refused, nothing appears
    layout = os.path.join(d.root, "evil-oci")
    p = subprocess.run(["skopeo", "copy", "--src-tls-verify=false", src, "oci:" + layout + ":x"],
                       env=containers_env(d.data), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    dest = "docker://%s/p/app:evil" % registry_host(d.data)
    p = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "oci:" + layout + ":x", dest],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "unauthorized" in p.stderr.lower(), p
    tags = requests.get(url(d, "/v2/p/app/tags/list"), auth=creds(d), timeout=10).json()["tags"]
    assert "evil" not in tags and d.build["commit"] in tags, tags
