"""Configurations and secrets end to end: the real ferry CLI against a real
ferryd. The canary tests grep everything a secret could leak into."""

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from ferry import Ferryd, binary


def setup_component(d, envs=None):
    args = ["project", "create", "shop"]
    if envs:
        args += ["--environments", envs]
    d.ok(*args)
    d.ok("component", "create", "shop/api", "--repo", "https://git.example/shop.git")


def by_key(entries):
    return {e["key"]: e for e in entries}


def files_under(path):
    """Regular files below path (links, e.g. the base image's busybox applet
    links, are not files of their own)."""
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p


def read_if_there(p):
    """The file's bytes; b"" if it went away meanwhile (the base image is
    built in the background while the test runs)."""
    try:
        with open(p, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def assert_not_in_files(paths, needle):
    raw = needle.encode()
    for p in paths:
        try:
            with open(p, "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError):
            continue
        assert raw not in data, "plaintext found in %s" % p
        # also not as UTF-16 or hex, the two other ways it could be written
        assert needle.encode("utf-16-le") not in data, p
        assert raw.hex().encode() not in data, p


# ---- set, list, unset, history ---------------------------------------------

def test_set_list_unset_and_history(ferryd):
    setup_component(ferryd)
    out = ferryd.ok("config", "set", "shop/api", "DB_HOST=db.local", "PORT=5432")
    assert [(e["key"], e["version"], e["scope"], e["kind"]) for e in out] == \
        [("DB_HOST", 1, "component", "env"), ("PORT", 1, "component", "env")]
    ferryd.ok("config", "set", "shop/api", "PORT=6543")
    cur = by_key(ferryd.ok("config", "list", "shop/api"))
    assert cur["DB_HOST"] == {"key": "DB_HOST", "scope": "component", "kind": "env", "secret": False,
                              "value": "db.local", "version": 1,
                              "updated_at": cur["DB_HOST"]["updated_at"], "updated_by": "admin"}
    assert cur["PORT"]["value"] == "6543" and cur["PORT"]["version"] == 2
    assert cur["DB_HOST"]["updated_at"].endswith("Z")

    r = ferryd.ok("config", "unset", "shop/api", "PORT")
    assert r["version"] == 3 and r["deleted"] is True
    assert list(by_key(ferryd.ok("config", "list", "shop/api"))) == ["DB_HOST"]
    r = ferryd.cli("config", "unset", "shop/api", "PORT", "--json")
    assert r.rc == 1 and r.err_json["status"] == 404 and "PORT is not set" in r.err_json["error"]

    hist = ferryd.ok("config", "list", "shop/api", "--history")
    assert [(h["version"], h["key"], h.get("value"), h["deleted"]) for h in hist] == [
        (3, "PORT", None, True), (2, "PORT", "6543", False),
        (1, "DB_HOST", "db.local", False), (1, "PORT", "5432", False)]

    # for people: a table
    r = ferryd.cli("config", "list", "shop/api")
    assert r.rc == 0
    assert r.out.splitlines()[0].split()[:5] == ["KEY", "SCOPE", "KIND", "MOUNT", "VALUE"]
    assert "db.local" in r.out


def test_environment_values_override_component_wide(ferryd):
    setup_component(ferryd, "dev,stage,prod")
    ferryd.ok("config", "set", "shop/api", "LOG_LEVEL=info", "REGION=eu")
    out = ferryd.ok("config", "set", "shop/api", "LOG_LEVEL=warn", "--env", "prod")
    assert out[0]["scope"] == "prod"
    prod = by_key(ferryd.ok("config", "list", "shop/api", "--env", "prod"))
    assert prod["LOG_LEVEL"]["value"] == "warn" and prod["LOG_LEVEL"]["scope"] == "prod"
    assert prod["REGION"]["value"] == "eu" and prod["REGION"]["scope"] == "component"
    dev = by_key(ferryd.ok("config", "list", "shop/api", "--env", "dev"))
    assert dev["LOG_LEVEL"]["value"] == "info"
    assert by_key(ferryd.ok("config", "list", "shop/api"))["LOG_LEVEL"]["value"] == "info"
    # an environment's own value can be removed: the component-wide one shows again
    ferryd.ok("config", "unset", "shop/api", "LOG_LEVEL", "--env", "prod")
    prod = by_key(ferryd.ok("config", "list", "shop/api", "--env", "prod"))
    assert prod["LOG_LEVEL"]["value"] == "info" and prod["LOG_LEVEL"]["scope"] == "component"
    assert len(ferryd.ok("config", "list", "shop/api", "--env", "prod", "--history")) == 2


def test_file_mounts_from_file_and_stdin(ferryd, tmp_path):
    setup_component(ferryd)
    conf = tmp_path / "app.json"
    conf.write_text('{"feature": true}\n')
    out = ferryd.ok("config", "set", "shop/api", "app.json=@%s" % conf,
                    "--file-mount", "/etc/app/app.json")
    assert out[0]["kind"] == "file" and out[0]["mount_path"] == "/etc/app/app.json"
    binary_value = bytes(range(256))
    ferryd.ok("config", "set", "shop/api", "keystore=-", "--file-mount", "/etc/app/keystore",
              input=binary_value.decode("latin-1"))
    cur = by_key(ferryd.ok("config", "list", "shop/api"))
    assert cur["app.json"]["value"] == '{"feature": true}\n'
    # text mode stdin encodes latin-1 chars as UTF-8, so compare what was sent
    sent = binary_value.decode("latin-1").encode()
    assert base64.b64decode(cur["keystore"]["value_base64"]) == sent
    assert "value" not in cur["keystore"]
    # one mount path, one file
    r = ferryd.cli("config", "set", "shop/api", "other=x", "--file-mount", "/etc/app/app.json")
    assert r.rc == 1 and "already used by app.json" in r.err
    r = ferryd.cli("config", "set", "shop/api", "a=1", "b=2", "--file-mount", "/x")
    assert r.rc == 2 and "exactly one" in r.err
    # "@@" is a literal "@"
    ferryd.ok("config", "set", "shop/api", "HANDLE=@@shop")
    assert by_key(ferryd.ok("config", "list", "shop/api"))["HANDLE"]["value"] == "@shop"


def test_many_values_are_one_change(ferryd):
    setup_component(ferryd)
    pairs = ["K%02d=v%d" % (i, i) for i in range(20)]
    out = ferryd.ok("config", "set", "shop/api", *pairs)
    assert {e["version"] for e in out} == {1}
    assert len(ferryd.ok("config", "list", "shop/api")) == 20
    # one bad key: nothing is set
    r = ferryd.cli("config", "set", "shop/api", "NEW1=a", "9BAD=b", "NEW2=c")
    assert r.rc == 1 and "9BAD" in r.err
    cur = ferryd.ok("config", "list", "shop/api")
    assert len(cur) == 20 and {e["version"] for e in cur} == {1}


# ---- bad input: clear errors, nothing changed ------------------------------

@pytest.mark.parametrize("args,why", [
    (["1BAD=x"], "starts with a digit"),
    (["BAD-NAME=x"], "invalid character at position 4"),
    (["=x"], "is not KEY=VALUE"),
    (["f=x", "--file-mount", "etc/app.conf"], "is relative: it must be absolute"),
    (["f=x", "--file-mount", "/etc/../shadow"], "without \".\" or \"..\""),
    (["f=x", "--file-mount", "/.ferry/config/env"], "ferry-init"),
    (["f/x=1", "--file-mount", "/etc/f"], "invalid character"),
    (["A=1", "--env", "nowhere"], "environment \"nowhere\" not found"),
])
def test_bad_input_is_refused_and_changes_nothing(ferryd, args, why):
    setup_component(ferryd)
    ferryd.ok("config", "set", "shop/api", "KEEP=1")
    r = ferryd.cli("config", "set", "shop/api", *args)
    assert r.rc in (1, 2), r
    assert why in r.err, r
    cur = ferryd.ok("config", "list", "shop/api")
    assert [(e["key"], e["version"]) for e in cur] == [("KEEP", 1)]


def test_values_over_one_mib_are_refused(ferryd, tmp_path):
    setup_component(ferryd)
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    r = ferryd.cli("config", "set", "shop/api", "big=@%s" % big, "--file-mount", "/big", "--json")
    assert r.rc == 1 and r.err_json["status"] == 413
    assert "larger than 1 MiB" in r.err_json["error"]
    # the API itself refuses too, with a 413 and a reason
    resp = ferryd.api("POST", "/api/v1/projects/shop/components/api/configs",
                      json={"values": [{"key": "big", "kind": "file", "mount_path": "/big",
                                        "value": "x" * (1024 * 1024 + 1)}]})
    assert resp.status_code == 413 and resp.json()["code"] == "too_large"
    # an environment variable must fit what exec passes on
    mid = tmp_path / "mid"
    mid.write_bytes(b"y" * 200000)
    r = ferryd.cli("config", "set", "shop/api", "MID=@%s" % mid)
    assert r.rc == 1 and "mount it as a file instead (--file-mount PATH)" in r.err
    assert ferryd.ok("config", "list", "shop/api") == []


def test_one_mib_values_fit_with_a_raised_body_limit(tmp_path):
    # ferryd's default body limit (1 MiB) leaves no room for a 1 MiB value
    # plus JSON; with --body-limit raised, the value limit is what counts
    d = Ferryd(str(tmp_path / "data"), extra=["--body-limit", str(2 * 1024 * 1024)]).start()
    try:
        setup_component(d)
        exact = tmp_path / "exact"
        data = bytes(range(256)) * 4096
        assert len(data) == 1024 * 1024
        exact.write_bytes(data)
        d.ok("config", "set", "shop/api", "blob=@%s" % exact, "--file-mount", "/data/blob")
        text = tmp_path / "controls"
        text.write_bytes(b"\x01" * (1024 * 1024))  # six times longer as JSON text
        d.ok("config", "set", "shop/api", "ctl=@%s" % text, "--file-mount", "/data/ctl")
        cur = by_key(d.ok("config", "list", "shop/api"))
        assert base64.b64decode(cur["blob"]["value_base64"]) == data
        assert cur["ctl"]["value"] == "\x01" * (1024 * 1024)
    finally:
        d.stop()


def test_api_body_validation(ferryd):
    setup_component(ferryd)
    url = "/api/v1/projects/shop/components/api/configs"
    for body, why in [
        ({}, '"values" must be an array'),
        ({"values": []}, "from 1 to 100"),
        ({"values": [{"key": "A"}]}, '"value" (a string) or "value_base64" is required'),
        ({"values": [{"key": "A", "value": "1", "value_base64": "MQ=="}]}, "not both"),
        ({"values": [{"key": "A", "value_base64": "***"}]}, "not valid base64"),
        ({"values": [{"key": "A", "value": "1", "kind": "volume"}]}, "not \"env\" or \"file\""),
        ({"values": [{"key": "A", "value": "1", "mount_path": "/x", "kind": "env"}]}, "only for file"),
        ({"values": [{"key": "A", "value": "1", "colour": "red"}]}, 'unknown field "colour"'),
    ]:
        r = ferryd.api("POST", url, json=body)
        assert r.status_code == 400, (body, r.text)
        assert why in r.json()["error"], (body, r.text)
    r = ferryd.api("POST", url, json={"values": [{"key": "A", "value_base64": "AAEC"}]})
    assert r.status_code == 400 and "NUL byte" in r.json()["error"]
    r = ferryd.api("POST", url, json={"values": [{"key": "bin", "value_base64": "AAEC",
                                                  "mount_path": "/bin.dat"}]})
    assert r.status_code == 201 and r.json()[0]["value_base64"] == "AAEC"
    assert ferryd.api("GET", url + "?env=nope").status_code == 404


# ---- roles and scope -------------------------------------------------------

def test_roles_and_project_scope(ferryd):
    setup_component(ferryd)
    ferryd.ok("project", "create", "bank")
    ferryd.ok("config", "set", "shop/api", "A=1")
    viewer = ferryd.ok("token", "create", "--role", "viewer")["token"]
    dev = ferryd.ok("token", "create", "--role", "developer", "--name", "dev1")["token"]
    scoped = ferryd.ok("token", "create", "--role", "developer", "--project", "bank")["token"]
    assert ferryd.ok("config", "list", "shop/api", token=viewer)[0]["value"] == "1"
    r = ferryd.cli("config", "set", "shop/api", "B=2", token=viewer)
    assert r.rc == 1 and "viewer role" in r.err
    r = ferryd.cli("config", "unset", "shop/api", "A", token=viewer)
    assert r.rc == 1 and "viewer role" in r.err
    out = ferryd.ok("config", "set", "shop/api", "B=2", token=dev)
    assert out[0]["updated_by"] == "dev1"
    for args in (["config", "list", "shop/api"], ["config", "set", "shop/api", "C=3"],
                 ["config", "unset", "shop/api", "A"]):
        r = ferryd.cli(*args, "--json", token=scoped)
        assert r.rc == 1 and r.err_json["status"] == 404, args
        assert r.err_json["error"] == 'project "shop" not found'
    assert sorted(by_key(ferryd.ok("config", "list", "shop/api"))) == ["A", "B"]


def test_secret_cannot_become_plain_silently(ferryd):
    setup_component(ferryd)
    ferryd.ok("config", "set", "shop/api", "TOKEN=s3cr3t-value", "--secret")
    r = ferryd.cli("config", "set", "shop/api", "TOKEN=visible")
    assert r.rc == 1 and "is a secret" in r.err and "--secret" in r.err
    ferryd.ok("config", "set", "shop/api", "TOKEN=rotated-value", "--secret")
    ferryd.ok("config", "unset", "shop/api", "TOKEN")
    ferryd.ok("config", "set", "shop/api", "TOKEN=now-plain")
    assert by_key(ferryd.ok("config", "list", "shop/api"))["TOKEN"]["value"] == "now-plain"


# ---- the canary: a secret never appears in plaintext -----------------------

CANARY = "CANARY-9c1f6e3b7a2d4058-do-not-leak"
PLAIN_CANARY = "PLAINCANARY-51e0d2b3c4a6-at-rest"


def ps_output():
    return subprocess.run(["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True).stdout


def proc_text(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return b""


def cli_env(d):
    e = dict(os.environ)
    e["FERRY_SERVER"] = d.url
    e["FERRY_TOKEN"] = d.token
    return e


def set_secret_holding_the_cli(d, args, feed, tmp_path):
    """Runs `ferry config set` and, while it is alive and has read the
    secret, checks the process list and the CLI's own argv and environment.
    feed(p) gives the process the secret and returns a function that lets it
    finish."""
    p = subprocess.Popen([binary("ferry")] + args, env=cli_env(d), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finish = feed(p)
    time.sleep(0.3)  # the CLI has read what it was given and waits for EOF
    assert p.poll() is None, "the CLI should still be waiting for the end of its input"
    assert CANARY not in ps_output()
    assert CANARY.encode() not in proc_text(p.pid, "cmdline")
    assert CANARY.encode() not in proc_text(p.pid, "environ")
    assert CANARY.encode() not in proc_text(d.proc.pid, "cmdline")
    finish()
    if not p.stdin.closed:
        p.stdin.close()
    p.wait(30)  # its output is small: no pipe fills up meanwhile
    out, err = p.stdout.read(), p.stderr.read()
    assert p.returncode == 0, err
    assert CANARY.encode() not in out + err
    return json.loads(out)


def test_canary_secret_never_appears_in_plaintext(ferryd, tmp_path):
    setup_component(ferryd, "dev,prod")

    # stdin: write the secret, keep stdin open while looking at ps
    def via_stdin(p):
        p.stdin.write(CANARY.encode())
        p.stdin.flush()
        return p.stdin.close
    set_secret_holding_the_cli(ferryd, ["config", "set", "shop/api", "DB_PASSWORD=-", "--secret",
                                        "--json"], via_stdin, tmp_path)

    # @file: a FIFO, so that the CLI is caught while it holds the value
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    holder = {}

    def via_fifo(p):
        def writer():
            holder["f"] = open(fifo, "wb")
            holder["f"].write(CANARY.encode())
            holder["f"].flush()
        t = threading.Thread(target=writer)
        t.start()
        t.join(10)
        return holder["f"].close
    out = set_secret_holding_the_cli(
        ferryd, ["config", "set", "shop/api", "tls.key=@%s" % fifo, "--secret",
                 "--file-mount", "/etc/tls/key.pem", "--env", "prod", "--json"], via_fifo, tmp_path)
    assert out[0]["secret"] is True and "value" not in out[0]
    # a non-secret value is encrypted at rest too
    ferryd.ok("config", "set", "shop/api", "GREETING=" + PLAIN_CANARY)

    # failed attempts carrying the secret leave no trace either
    r = ferryd.cli("config", "set", "shop/api", "9BAD=" + CANARY, "--secret", "--json")
    assert r.rc == 1 and CANARY not in r.out + r.err
    r = ferryd.cli("config", "set", "shop/api", "DB_PASSWORD=" + CANARY, "--json")
    assert r.rc == 1 and "is a secret" in r.err and CANARY not in r.err

    # no API response holds it
    responses = []
    for path in ["/api/v1/projects/shop/components/api/configs",
                 "/api/v1/projects/shop/components/api/configs?env=prod",
                 "/api/v1/projects/shop/components/api/configs?env=dev",
                 "/api/v1/projects/shop/components/api/configs?history=1",
                 "/api/v1/projects/shop/components/api/configs?env=prod&history=1",
                 "/api/v1/projects/shop/components/api",
                 "/api/v1/audit", "/api/v1/audit?project=shop"]:
        resp = ferryd.api("GET", path)
        assert resp.status_code == 200, (path, resp.text)
        responses.append(resp.text)
    blob = "\n".join(responses)
    assert CANARY not in blob
    assert PLAIN_CANARY in blob  # the check can see a value where there is one
    for args in (["config", "list", "shop/api"], ["config", "list", "shop/api", "--env", "prod"],
                 ["config", "list", "shop/api", "--history"], ["audit"]):
        r = ferryd.cli(*args)
        assert r.rc == 0 and CANARY not in r.out + r.err
    # the audit names the keys, never values
    audit = ferryd.ok("audit", "--project", "shop")
    sets = [a for a in audit if a["action"] == "config.set"]
    assert any("DB_PASSWORD" in a["object"] for a in sets)
    assert any("tls.key" in a["object"] and "(prod)" in a["object"] for a in sets)

    # no file under the data dir (database, WAL, shm, logs), no ferryd output,
    # while running and after a clean stop
    logs = [ferryd.log_path]
    # the grep sees what is stored in plaintext (here: the repository URL),
    # so its silence about the canaries means something
    stored = b"".join(read_if_there(p) for p in files_under(ferryd.data))
    assert b"https://git.example/shop.git" in stored
    assert b"config.set" in open(ferryd.log_path, "rb").read() or b"configs" in open(ferryd.log_path, "rb").read()
    assert_not_in_files(list(files_under(ferryd.data)) + logs, CANARY)
    assert_not_in_files(list(files_under(ferryd.data)) + logs, PLAIN_CANARY)
    assert ferryd.stop() == 0
    assert_not_in_files(list(files_under(ferryd.data)) + logs, CANARY)
    assert_not_in_files(list(files_under(ferryd.data)) + logs, PLAIN_CANARY)
    # the rows are there, sealed
    db = sqlite3.connect(os.path.join(ferryd.data, "ferry.db"))
    rows = db.execute("SELECT key, secret, length(value) FROM config_values WHERE deleted = 0").fetchall()
    db.close()
    assert ("DB_PASSWORD", 1, len(CANARY) + 49) in rows
    ferryd.start()


# ---- tampering and keys ----------------------------------------------------

def test_swapped_ciphertexts_fail_clearly(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    try:
        setup_component(d)
        d.ok("config", "set", "shop/api", "ALPHA=value-of-alpha", "BETA=value-of-beta")
        d.stop()
        db = sqlite3.connect(os.path.join(d.data, "ferry.db"))
        (a,) = db.execute("SELECT value FROM config_values WHERE key = 'ALPHA'").fetchone()
        (b,) = db.execute("SELECT value FROM config_values WHERE key = 'BETA'").fetchone()
        db.execute("UPDATE config_values SET value = ? WHERE key = 'ALPHA'", (b,))
        db.execute("UPDATE config_values SET value = ? WHERE key = 'BETA'", (a,))
        db.commit()
        db.close()
        d.start()
        r = d.cli("config", "list", "shop/api", "--json")
        assert r.rc == 1
        err = r.err_json
        assert err["code"] == "undecryptable" and err["status"] == 500
        assert "configuration value for ALPHA (version 1) cannot be decrypted: " \
               "wrong master key or tampered data" == err["error"]
        assert "value-of" not in r.out + r.err
        r = d.cli("config", "list", "shop/api")
        assert r.rc == 1 and "cannot be decrypted" in r.err and "value-of" not in r.out + r.err

        # put them back, then flip one byte
        d.stop()
        db = sqlite3.connect(os.path.join(d.data, "ferry.db"))
        db.execute("UPDATE config_values SET value = ? WHERE key = 'ALPHA'", (a,))
        db.execute("UPDATE config_values SET value = ? WHERE key = 'BETA'", (b,))
        db.commit()
        db.close()
        d.start()
        assert by_key(d.ok("config", "list", "shop/api"))["BETA"]["value"] == "value-of-beta"
        d.stop()
        db = sqlite3.connect(os.path.join(d.data, "ferry.db"))
        flipped = bytearray(b)
        flipped[-1] ^= 0x80
        db.execute("UPDATE config_values SET value = ? WHERE key = 'BETA'", (bytes(flipped),))
        db.commit()
        db.close()
        d.start()
        r = d.cli("config", "list", "shop/api", "--json")
        assert r.rc == 1 and "configuration value for BETA" in r.err_json["error"]
        assert "value-of" not in r.out + r.err
        # writes still work and an unset clears the broken value from the view
        d.ok("config", "unset", "shop/api", "BETA")
        assert by_key(d.ok("config", "list", "shop/api"))["ALPHA"]["value"] == "value-of-alpha"
    finally:
        d.stop()


def test_wrong_master_key_is_refused(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    try:
        setup_component(d)
        d.ok("config", "set", "shop/api", "A=1")
    finally:
        d.stop()
    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    os.chmod(other, 0o600)
    bad = Ferryd(str(tmp_path / "data"), extra=["--master-key-file", str(other)])
    with pytest.raises(RuntimeError) as exc:
        bad.start(timeout=10)
    assert "wrong master key" in str(exc.value)


def test_rotation_keeps_values_and_retires_the_old_key(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    try:
        setup_component(d, "dev,prod")
        d.ok("config", "set", "shop/api", "A=alpha", "B=beta")
        d.ok("config", "set", "shop/api", "S=" + CANARY, "--secret")
        d.ok("config", "set", "shop/api", "A=alpha-prod", "--env", "prod")
        before = (d.ok("config", "list", "shop/api"), d.ok("config", "list", "shop/api", "--env", "prod"),
                  d.ok("config", "list", "shop/api", "--history"))
        old_key = tmp_path / "old.key"
        shutil.copy(os.path.join(d.data, "master.key"), old_key)
        os.chmod(old_key, 0o600)

        # while ferryd runs
        p = subprocess.run([binary("ferryd"), "rotate-master-key", "--data", d.data],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "master key rotated" in p.stdout
        assert open(os.path.join(d.data, "master.key")).read() != open(old_key).read()

        after = (d.ok("config", "list", "shop/api"), d.ok("config", "list", "shop/api", "--env", "prod"),
                 d.ok("config", "list", "shop/api", "--history"))
        assert after == before
        # new values work, for an existing project and a new one
        d.ok("config", "set", "shop/api", "C=gamma")
        d.ok("project", "create", "bank")
        d.ok("component", "create", "bank/ledger", "--repo", "https://h/x")
        d.ok("config", "set", "bank/ledger", "D=delta")

        d.stop()
        d.start()
        assert by_key(d.ok("config", "list", "shop/api"))["A"]["value"] == "alpha"
        assert by_key(d.ok("config", "list", "shop/api"))["C"]["value"] == "gamma"
        assert by_key(d.ok("config", "list", "bank/ledger"))["D"]["value"] == "delta"
    finally:
        d.stop()
    # the old key opens nothing any more
    old = Ferryd(str(tmp_path / "data"), extra=["--master-key-file", str(old_key)])
    with pytest.raises(RuntimeError) as exc:
        old.start(timeout=10)
    assert "wrong master key" in str(exc.value)
