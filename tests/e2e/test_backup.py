"""Backup and restore: `ferry admin backup` of a running ferryd (while it
serves and is written to), the data dir wiped with everything it ran, then
`ferryd restore` onto an empty data dir and a start: every project,
component, configuration value and secret (still decryptable), deployment
and execution is back, and what was active is redeployed from the restored
registry. Plus the refusals: a damaged archive, a wrong passphrase, a data
dir that is not empty, a viewer."""

import json
import os
import shutil
import subprocess
import tarfile
import threading
import time

import pytest

from ferry import Ferryd, binary, free_port
from gitserve import Repo
from test_deploy import get
from test_rollout import cleanup, hello_files
from test_tasks import task_files, wait_execution

SECRET = "restored-secret-4d1c0b"       # the task prints it: it is in its execution log
CANARY = "never-in-plaintext-93be21"     # hello's secret: nothing ever prints it
PASSPHRASE = "a passphrase long enough for argon2"


def restore(*args):
    return subprocess.run([binary("ferryd"), "restore"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=300)


def wait_text(d, component, env, text, timeout=180):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            r = get(d, env, component)
            last = (r.status_code, r.text)
            if r.status_code == 200 and r.text.strip() == text:
                return
        except Exception as e:  # noqa: BLE001 - the gateway may not be up yet
            last = e
        time.sleep(0.5)
    raise AssertionError("%s/%s never answered %r (last: %r)" % (component, env, text, last))


def start(data, gw, token=None):
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw, "--init-binary", binary("ferry-init")])
    f.gw = gw
    f.admin_token = token  # a restored data dir has no admin.token: the operator kept theirs
    return f.start(timeout=60)


def snapshot(d):
    """What the restore must bring back, as the API shows it."""
    return {
        "projects": [p["name"] for p in d.ok("project", "list")],
        "components": [(c["name"], c["type"], c["repo"]) for c in d.ok("component", "list", "demo")],
        "configs": {env: sorted((c["key"], c["scope"], c["secret"], c.get("value"), c["version"])
                                for c in d.ok("config", "list", "demo/hello", "--env", env))
                    for env in ("development", "production")},
        "deployments": sorted((x["id"], x["environment"], x["seq"], x["digest"], x["status"], x["cause"])
                              for x in d.ok("deployments", "demo/hello")),
        "executions": [(x["id"], x["status"], x["exit_code"], x["deployment"])
                       for x in d.ok("executions", "demo/once")["executions"]],
        "builds": sorted((b["id"], b["digest"], b["status"]) for b in d.ok("builds", "demo/hello")),
        "tokens": sorted(t["name"] for t in d.ok("token", "list")),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("backup")
    data = str(root / "data")
    d = start(data, free_port())
    try:
        d.ok("project", "create", "demo")
        repo = Repo(str(root), name="hello")
        repo.commit(hello_files(), message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        repo.commit({}, message="executable cgi")
        d.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        d.ok("config", "set", "demo/hello", "GREETING=hello")
        d.ok("config", "set", "demo/hello", "GREETING=bonjour", "--env", "production")
        d.ok("config", "set", "demo/hello", "API_KEY=" + CANARY, "--secret", "--env", "development")
        r = d.cli("build", "demo/hello", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        assert d.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
        assert d.cli("promote", "demo/hello", "--to", "production", "--wait", timeout=300).rc == 0

        trepo = Repo(str(root), name="task")
        trepo.commit(task_files(), message="task")
        os.chmod(os.path.join(trepo.work, "task.sh"), 0o755)
        trepo.commit({}, message="executable task")
        d.ok("component", "create", "demo/once", "--repo", trepo.file_url, "--type", "manual-task")
        d.ok("config", "set", "demo/once", "MESSAGE=" + SECRET, "--secret")
        r = d.cli("build", "demo/once", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        assert d.cli("deploy", "demo/once", "--wait", timeout=300).rc == 0
        r = d.cli("run", "demo/once", "--env", "development", "--wait", "--json", "--", "exit", "3")
        assert r.rc == 1 and r.json["exit_code"] == 3, r
        d.ok("token", "create", "--role", "viewer", "--name", "reader")
        wait_text(d, "hello", "development", "hello from development")
        wait_text(d, "hello", "production", "bonjour from production")
        d.root = root
        yield d
    finally:
        d.stop()
        cleanup(data)


def test_backup_wipe_restore_start(world, tmp_path):
    d = world
    pf = tmp_path / "pass"
    pf.write_text(PASSPHRASE + "\n")
    before = snapshot(d)
    assert len(before["deployments"]) == 2 and len(before["executions"]) == 1

    # online: the API keeps being written to while the backup is made
    stop = threading.Event()
    writes = []

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            r = d.cli("config", "set", "demo/once", "TICK=%d" % n, "--json")
            writes.append(r.rc)

    t = threading.Thread(target=writer)
    t.start()
    try:
        out = tmp_path / "ferry.tar"
        r = d.cli("admin", "backup", out, "--include-registry", "--passphrase-file", pf, "--json", timeout=600)
    finally:
        stop.set()
        t.join()
    assert r.rc == 0, r
    assert writes and all(rc == 0 for rc in writes), writes
    assert r.json["bytes"] == os.path.getsize(out)
    assert not os.path.exists(str(out) + ".partial")
    assert not os.listdir(os.path.join(d.data, "tmp"))  # the staging copy is gone

    with tarfile.open(out) as tf:
        names = tf.getnames()
        manifest = json.load(tf.extractfile("ferry-backup/manifest.json"))
        sealed = tf.extractfile("ferry-backup/master.key.sealed").read().decode()
    assert "ferry-backup/ferry.db" in names
    assert manifest["format"] == "ferry-backup" and manifest["format_version"] == 1
    assert manifest["schema_version"] == d.api("GET", "/healthz").json()["schema"]
    assert manifest["master_key"]["included"] is True
    assert {f["path"] for f in manifest["files"]} == {"ferry.db", "master.key.sealed"}
    assert manifest["registry"]["included"] is True and manifest["registry"]["blobs"] > 0
    repos = {x["name"] for x in manifest["registry"]["repositories"]}
    assert any("hello" in x for x in repos), repos
    key = open(os.path.join(d.data, "master.key")).read().strip()
    assert key not in sealed and PASSPHRASE not in sealed
    assert CANARY not in open(out, "rb").read().decode("latin-1")
    audit = d.ok("audit", "--limit", "50")
    assert any(a["action"] == "admin.backup" for a in audit)

    # wipe: ferryd, its containers, networks, HAProxy, images and data dir
    after = snapshot(d)  # the writer's TICK versions are not compared
    gw, token = d.gw, d.token
    d.stop()
    cleanup(d.data)
    shutil.rmtree(d.data)

    data2 = str(tmp_path / "restored")
    r = restore(out, "--data", data2, "--passphrase-file", pf, "--json")
    assert r.returncode == 0, r
    summary = json.loads(r.stdout)
    assert summary["master_key"]["restored"] and summary["registry"]["restored"]
    assert oct(os.stat(os.path.join(data2, "master.key")).st_mode & 0o777) == "0o600"
    assert open(os.path.join(data2, "master.key")).read().strip() == key

    assert not os.path.exists(os.path.join(data2, "admin.token"))
    d2 = start(data2, gw, token=token)
    try:
        # redeployed from the restored registry, each environment with its config
        wait_text(d2, "hello", "development", "hello from development")
        wait_text(d2, "hello", "production", "bonjour from production")
        # pulled from the restored registry, at the port the image references name
        assert "pull image" not in d2.log(), d2.log()[-3000:]
        now = snapshot(d2)
        for k in ("projects", "components", "configs", "deployments", "executions", "builds"):
            assert now[k] == after[k], k
        assert now["tokens"] == before["tokens"]
        # the tokens made before the backup work on the restored store
        assert d2.api("GET", "/api/v1/whoami", token=token).json()["name"] == "admin"
        # secrets decrypt: a new run of the task gets its secret MESSAGE
        x = d2.ok("run", "demo/once", "--env", "development", "--wait", "--", "exit", "0")
        x = wait_execution(d2, x["id"])
        assert x["exit_code"] == 0, x
        log = d2.cli("logs", "execution", x["id"]).out
        assert "MESSAGE=" + SECRET in log, log
        assert len(d2.ok("executions", "demo/once")["executions"]) == 2
    finally:
        d2.stop()
        cleanup(data2)


# ---- refusals ------------------------------------------------------------


@pytest.fixture
def small(ferryd, tmp_path):
    ferryd.ok("project", "create", "shop")
    ferryd.ok("component", "create", "shop/web", "--repo", "file://" + str(tmp_path / "x.git"))
    ferryd.ok("config", "set", "shop/web", "A=1")
    ferryd.ok("config", "set", "shop/web", "S=" + SECRET, "--secret")
    return ferryd


def test_restore_needs_the_key_and_an_empty_dir(small, tmp_path):
    d = small
    plain = tmp_path / "plain.tar"
    assert d.cli("admin", "backup", plain).rc == 0
    with tarfile.open(plain) as tf:
        assert "ferry-backup/master.key.sealed" not in tf.getnames()
    # without the key in it, restore says what to do
    r = restore(plain, "--data", tmp_path / "r1")
    assert r.returncode == 1 and "does not hold the master key" in r.stderr, r
    assert not os.path.exists(tmp_path / "r1")
    # --no-master-key, and the key given at start: the values decrypt
    r = restore(plain, "--data", tmp_path / "r1", "--no-master-key")
    assert r.returncode == 0, r
    assert "--master-key-file" in r.stdout
    keyfile = tmp_path / "key"
    shutil.copy(os.path.join(d.data, "master.key"), keyfile)
    os.chmod(keyfile, 0o600)
    d2 = Ferryd(str(tmp_path / "r1"), extra=["--master-key-file", str(keyfile)])
    d2.admin_token = d.token
    d2.start()
    try:
        cfg = {c["key"]: c for c in d2.ok("config", "list", "shop/web")}
        assert cfg["A"]["value"] == "1" and cfg["S"]["secret"]
    finally:
        d2.stop()
    # a data dir that is not empty is never written to
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep").write_text("mine")
    r = restore(plain, "--data", busy, "--no-master-key")
    assert r.returncode == 1 and "is not empty" in r.stderr, r
    assert os.listdir(busy) == ["keep"]


def test_wrong_passphrase_and_damage_are_refused(small, tmp_path):
    d = small
    pf = tmp_path / "pass"
    pf.write_text(PASSPHRASE)
    sealed = tmp_path / "sealed.tar"
    assert d.cli("admin", "backup", sealed, "--passphrase-file", pf).rc == 0
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all")
    r = restore(sealed, "--data", tmp_path / "r", "--passphrase-file", wrong)
    assert r.returncode == 1 and "wrong passphrase" in r.stderr, r
    assert not os.path.exists(tmp_path / "r")
    r = restore(sealed, "--data", tmp_path / "r")
    assert r.returncode == 1 and "--passphrase-file" in r.stderr, r

    # one changed byte of the store: its checksum no longer matches
    work = tmp_path / "unpacked"
    with tarfile.open(sealed) as tf:
        tf.extractall(work)
    db = work / "ferry-backup" / "ferry.db"
    raw = bytearray(db.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    db.write_bytes(bytes(raw))
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(damaged, "w") as tf:
        tf.add(work / "ferry-backup", arcname="ferry-backup")
    r = restore(damaged, "--data", tmp_path / "r", "--passphrase-file", pf)
    assert r.returncode == 1 and "ferry.db does not match its checksum" in r.stderr, r
    assert not os.path.exists(tmp_path / "r")

    # an archive with a link in it is not a ferry backup
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tf:
        info = tarfile.TarInfo("ferry-backup/ferry.db")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    r = restore(evil, "--data", tmp_path / "r", "--no-master-key")
    assert r.returncode == 1 and "is not a ferry backup" in r.stderr, r
    r = restore(tmp_path / "pass", "--data", tmp_path / "r", "--no-master-key")
    assert r.returncode == 1 and "not a tar archive" in r.stderr, r


def test_backup_is_for_admins_and_short_passphrases_are_refused(small, tmp_path):
    d = small
    viewer = d.ok("token", "create", "--role", "viewer")["token"]
    r = d.cli("admin", "backup", tmp_path / "v.tar", token=viewer)
    assert r.rc == 1 and not os.path.exists(tmp_path / "v.tar"), r
    assert not os.path.exists(str(tmp_path / "v.tar") + ".partial")
    short = tmp_path / "short"
    short.write_text("tooshort")
    r = d.cli("admin", "backup", tmp_path / "s.tar", "--passphrase-file", short)
    assert r.rc == 1 and "at least 12" in r.err, r
    assert d.cli("admin", "backup", tmp_path / "ok.tar").rc == 0
    r = d.cli("admin", "backup", tmp_path / "ok.tar")
    assert r.rc == 1 and "exists" in r.err, r
