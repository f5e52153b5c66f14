"""Upgrades: a data dir made by an earlier ferry (tests/e2e/fixtures) is
migrated on start, after a backup of the store as it was; a store newer
than the binary is refused and left alone."""

import glob
import os
import shutil
import sqlite3
import subprocess

import pytest

from ferry import Ferryd

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def make_datadir(name, dest):
    src = os.path.join(FIXTURES, name)
    os.makedirs(dest, mode=0o700)
    with open(os.path.join(src, "ferry.sql")) as f:
        subprocess.run(["sqlite3", os.path.join(dest, "ferry.db")], stdin=f, check=True)
    for k in ("master.key", "admin.token"):
        shutil.copy(os.path.join(src, k), os.path.join(dest, k))
        os.chmod(os.path.join(dest, k), 0o600)
    return dest


def schema(path):
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_v8_datadir_is_migrated_with_a_backup_first(tmp_path):
    data = make_datadir("datadir-v8", str(tmp_path / "data"))
    assert schema(os.path.join(data, "ferry.db")) == 8
    d = Ferryd(data).start()
    try:
        latest = d.api("GET", "/healthz").json()["schema"]
        assert latest > 8
        assert "event=store_migrated from=8 to=%d" % latest in d.log()
        backups = glob.glob(os.path.join(data, "backups", "ferry-v8-*.db"))
        assert len(backups) == 1, os.listdir(data)
        assert schema(backups[0]) == 8
        with sqlite3.connect(backups[0]) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*) FROM components").fetchone()[0] == 2

        # everything the old release wrote is there, and its values decrypt
        # with the old master key (non-secret values are sealed too)
        assert [c["name"] for c in d.ok("component", "list", "shop")] == ["nightly", "web"]
        assert [e["name"] for e in d.ok("env", "list", "shop")] == ["development", "staging", "production"]
        cfg = {c["key"]: c for c in d.ok("config", "list", "shop/web", "--env", "staging")}
        assert cfg["GREETING"]["value"] == "hi-staging"
        assert cfg["LEVEL"]["value"] == "3"
        assert cfg["DB_PASSWORD"]["secret"] and "value" not in cfg["DB_PASSWORD"]
        assert "ci" in [t["name"] for t in d.ok("token", "list")]
        assert d.ok("component", "show", "shop/nightly")["schedule"] == "0 3 * * *"
        # and it works on as a current store
        d.ok("config", "set", "shop/web", "LEVEL=4")
        assert {c["key"]: c for c in d.ok("config", "list", "shop/web")}["LEVEL"]["value"] == "4"
    finally:
        d.stop()
    # a second start has nothing to migrate and takes no second backup
    d = Ferryd(data).start()
    d.stop()
    assert len(glob.glob(os.path.join(data, "backups", "ferry-v8-*.db"))) == 1


def test_store_newer_than_the_binary_is_refused(tmp_path):
    data = make_datadir("datadir-v8", str(tmp_path / "data"))
    d = Ferryd(data).start()
    latest = d.api("GET", "/healthz").json()["schema"]
    d.stop()
    db = os.path.join(data, "ferry.db")
    with sqlite3.connect(db) as h:
        h.execute("PRAGMA user_version=%d" % (latest + 5))
    before = open(db, "rb").read()
    d = Ferryd(data)
    with pytest.raises(RuntimeError) as err:
        d.start()
    assert d.proc.returncode == 1
    assert "schema version %d, newer than this ferryd knows (%d)" % (latest + 5, latest) in str(err.value)
    assert "a downgrade is not supported" in str(err.value)
    assert open(db, "rb").read() == before
    assert schema(db) == latest + 5
