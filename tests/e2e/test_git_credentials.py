"""Private repositories: a token kept sealed in the vault, used by the
build's checkout, commit listing and never shown again."""

import os
import sqlite3

import pytest

from ferry import Ferryd
from gitserve import GitHTTP, Repo, remove_local_images

TOKEN = "glpat-s3cr3t-token-for-ferry-tests"
DOCKERFILE = 'FROM ferry/busybox\nCOPY hello.txt /hello.txt\nUSER 65534\nCMD ["cat", "/hello.txt"]\n'


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("gitcreds")
    gitroot = str(root / "git")
    os.makedirs(gitroot)
    http = GitHTTP(gitroot, auth=("ci-bot", TOKEN)).start()
    d = Ferryd(str(root / "data")).start()
    repo = Repo(gitroot, name="private")
    repo.commit({"Dockerfile": DOCKERFILE, "hello.txt": "hello\n"}, message="private code")
    d.ok("project", "create", "shop")
    d.ok("component", "create", "shop/private", "--repo", http.url(repo))
    d.root = str(root)
    try:
        yield d
    finally:
        d.stop()
        http.stop()
        remove_local_images(d.data)


def test_without_credentials_the_fetch_is_refused(env):
    r = env.cli("commits", "shop/private")
    assert r.rc == 1, r
    assert "needs credentials" in r.err, r
    assert env.ok("component", "credentials", "shop/private")["kind"] is None


def test_a_token_is_used_and_never_shown(env, tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("wrong-token\n")
    assert env.ok("component", "credentials", "shop/private", "--https-token-file", str(bad),
                  "--username", "ci-bot")["kind"] == "https"
    r = env.cli("commits", "shop/private")
    assert r.rc == 1 and "wrong-token" not in r.err, r

    good = tmp_path / "good"
    good.write_text(TOKEN + "\n")
    shown = env.ok("component", "credentials", "shop/private", "--https-token-file", str(good),
                   "--username", "ci-bot")
    assert shown == {**shown, "kind": "https", "username": "ci-bot"}
    assert TOKEN not in str(shown)
    commits = env.ok("commits", "shop/private")
    assert commits[0]["message"] == "private code"
    b = env.cli("build", "shop/private", "--wait", "--json", timeout=300)
    assert b.rc == 0, b
    assert b.json["status"] == "succeeded"

    # never in the API, the audit log, the build log, ferryd's log or the store
    everything = (str(env.ok("component", "credentials", "shop/private")) + str(env.ok("audit")) +
                  str(env.ok("logs", "build", b.json["id"])) + env.log())
    assert TOKEN not in everything
    for name in os.listdir(env.data):
        path = os.path.join(env.data, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert TOKEN.encode() not in f.read(), path
    db = sqlite3.connect(os.path.join(env.data, "ferry.db"))
    secret, = db.execute("SELECT secret FROM git_credentials").fetchone()
    db.close()
    assert TOKEN.encode() not in secret


def test_bad_credentials_input_is_refused(env, tmp_path):
    key = tmp_path / "key"
    key.write_text("not a key\n")
    r = env.cli("component", "credentials", "shop/private", "--ssh-key-file", str(key))
    assert r.rc == 1 and "private key" in r.err, r
    r = env.cli("component", "credentials", "shop/private", "--https-token-file", str(key),
                "--ssh-key-file", str(key))
    assert r.rc == 2, r
    r = env.cli("component", "credentials", "shop/private", "--https-token-file", "/nonexistent")
    assert r.rc == 1 and "cannot open" in r.err, r
    v = env.ok("token", "create", "--role", "viewer")["token"]
    r = env.cli("component", "credentials", "shop/private", "--https-token-file", str(key), token=v)
    assert r.rc == 1 and "viewer" in r.err
    # still the good token from before
    assert env.ok("component", "credentials", "shop/private")["username"] == "ci-bot"


def test_remove_credentials(env):
    assert env.ok("component", "credentials", "shop/private", "--remove")["removed"] is True
    assert env.ok("component", "credentials", "shop/private")["kind"] is None
    r = env.cli("component", "credentials", "shop/private", "--remove")
    assert r.rc == 1 and "no git credentials" in r.err
