"""The scan step end to end: real builds with buildah, a ferryd whose
--vuln-db holds OSV records written here, and the real ferry CLI. Builds that
must fail fail for the right reason and push nothing; builds that must pass
pass with the findings recorded."""

import base64
import json
import os

import pytest

from ferry import Ferryd
from gitserve import Repo, remove_local_images

ROOTLESS = 'FROM ferry/busybox\nCOPY hello.txt /hello.txt\nUSER 65534\n'
CRIT_ID = "CVE-2099-0001"
MED_ID = "CVE-2099-0002"
# CVSS 3.1 base 9.8 (CRITICAL) and 4.2 (MEDIUM)
CVSS_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
CVSS_MEDIUM = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"


def osv(vid, package, fixed, vector, summary):
    return {
        "id": vid,
        "modified": "2099-01-01T00:00:00Z",
        "summary": summary,
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": package},
            "ranges": [{"type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": fixed}]}],
        }],
    }


def dpkg_status(*pkgs):
    return "".join("Package: %s\nStatus: install ok installed\nArchitecture: amd64\n"
                   "Version: %s\nDescription: test package\n\n" % p for p in pkgs)


def image_with(status):
    """A rootless image holding a dpkg status database."""
    return {"Dockerfile": 'FROM ferry/busybox\nCOPY status /var/lib/dpkg/status\nUSER 65534\n',
            "status": status}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("scan")
    vulndb = root / "vulndb" / "Debian"
    os.makedirs(str(vulndb))
    (vulndb / (CRIT_ID + ".json")).write_text(json.dumps(
        osv(CRIT_ID, "ferrytest-crit", "1.0-2", CVSS_CRITICAL, "remote code execution in ferrytest-crit")))
    (vulndb / (MED_ID + ".json")).write_text(json.dumps(
        osv(MED_ID, "ferrytest-med", "2.0-1", CVSS_MEDIUM, "information leak in ferrytest-med")))
    d = Ferryd(str(root / "data"), extra=["--vuln-db", str(root / "vulndb")])
    d.start()
    d.ok("project", "create", "sec")
    try:
        yield d, str(root)
    finally:
        d.stop()
        remove_local_images(d.data)
        assert d.proc.returncode == 0, d.log()[-4000:]


_n = [0]


def build(env, files, *opts, ok=True):
    """Commits files in a new repository, builds it, returns (build, rc)."""
    d, root = env
    _n[0] += 1
    name = "s%d" % _n[0]
    repo = Repo(root, name=name)
    repo.commit(files, message="scan test " + name)
    d.ok("component", "create", "sec/" + name, "--repo", repo.file_url, *opts)
    r = d.cli("build", "sec/" + name, "--wait", "--json", timeout=300)
    builds = d.ok("builds", "sec/" + name)
    b = d.ok("build", "show", builds[0]["id"])
    if ok:
        assert r.rc == 0, (r, scan_log(d, b["id"]))
        assert b["status"] == "succeeded"
    else:
        assert r.rc != 0, r
        assert b["status"] == "failed"
    return b


def scan_log(d, build_id):
    return "\n".join(l["text"] for l in d.ok("logs", "build", build_id) if l["step"] == "scan")


def steps(b):
    return {s["name"]: s["status"] for s in b["steps"]}


def assert_failed_by_scan(d, b, finding_id):
    assert steps(b)["scan"] == "failed"
    assert steps(b)["push"] == "skipped"
    assert b["digest"] is None and b["image"] is None, "a failed scan pushed nothing"
    assert b["error"].startswith("scan: ") and finding_id in b["error"], b["error"]
    assert b["scan"]["passed"] is False
    log = scan_log(d, b["id"])
    assert "FAILED" in log and finding_id in log, log


def finding(report, fid):
    return [f for f in report["findings"] if f["id"] == fid]


# ---- builds that fail, for the right reason --------------------------------

def test_dockerfile_without_user_fails(env):
    d = env[0]
    b = build(env, {"Dockerfile": "FROM ferry/busybox\nCOPY hello.txt /hello.txt\n",
                    "hello.txt": "hi\n"}, ok=False)
    assert_failed_by_scan(d, b, "FERRY-DF-001")
    assert "USER" in b["error"]
    report = d.ok("scan", b["id"])
    [f] = finding(report, "FERRY-DF-001")
    assert f["severity"] == "CRITICAL" and f["where"] == "Dockerfile:1"
    assert report["summary"]["CRITICAL"] == 1 and report["passed"] is False
    # people: build show has the summary, ferry scan the table
    shown = d.cli("build", "show", b["id"])
    assert shown.rc == 0 and "CRITICAL 1" in shown.out and "FAILED" in shown.out, shown
    table = d.cli("scan", b["id"])
    assert table.rc == 0 and "FERRY-DF-001" in table.out and "Dockerfile:1" in table.out, table


def test_critical_package_in_the_image_fails(env):
    d = env[0]
    b = build(env, image_with(dpkg_status(("ferrytest-crit", "1.0-1"))), ok=False)
    assert_failed_by_scan(d, b, CRIT_ID)
    [f] = finding(d.ok("scan", b["id"]), CRIT_ID)
    assert f["package"] == "ferrytest-crit"
    assert f["installed_version"] == "1.0-1" and f["fixed_version"] == "1.0-2"
    assert f["severity"] == "CRITICAL"
    assert "var/lib/dpkg/status" in f["where"]
    table = d.cli("scan", b["id"])
    assert "ferrytest-crit" in table.out and "1.0-2" in table.out


def test_committed_private_key_fails_and_is_never_shown(env):
    d = env[0]
    body = base64.b64encode(os.urandom(600)).decode()
    key = "-----BEGIN RSA " "PRIVATE KEY-----\n" + body + "\n-----END RSA " "PRIVATE KEY-----\n"
    files = {"Dockerfile": ROOTLESS, "hello.txt": "hi\n", "deploy/id_rsa": key}
    b = build(env, files, ok=False)
    assert_failed_by_scan(d, b, "private-key")
    report = d.ok("scan", b["id"])
    [f] = finding(report, "private-key")
    assert f["where"] == "deploy/id_rsa:1" and f["type"] == "secret"
    assert "…" in f["match"]
    everything = json.dumps(report) + scan_log(d, b["id"]) + d.cli("scan", b["id"]).out
    assert body[:40] not in everything


# ---- builds that pass -------------------------------------------------------

def test_the_fixed_version_passes(env):
    d = env[0]
    b = build(env, image_with(dpkg_status(("ferrytest-crit", "1.0-2"), ("ferrytest-med", "2.0-1"))))
    assert steps(b)["scan"] == "succeeded" and steps(b)["push"] == "succeeded"
    assert b["digest"].startswith("sha256:")
    report = d.ok("scan", b["id"])
    assert not finding(report, CRIT_ID) and not finding(report, MED_ID)
    assert report["passed"] is True and report["summary"]["CRITICAL"] == 0
    names = {s["name"]: s for s in report["scanners"]}
    assert names["vulnerabilities"]["status"] == "ok" and names["vulnerabilities"]["advisories"] >= 2
    assert names["secrets-image"]["status"] in ("ok", "incomplete")


def test_id_in_trivyignore_passes_and_is_listed_as_suppressed(env):
    d = env[0]
    files = image_with(dpkg_status(("ferrytest-crit", "1.0-1")))
    files[".trivyignore"] = "# accepted until the vendor ships a fix\n%s\n" % CRIT_ID
    b = build(env, files)
    report = d.ok("scan", b["id"])
    assert not finding(report, CRIT_ID)
    [s] = [x for x in report["suppressed"] if x["id"] == CRIT_ID]
    assert s["suppressed_by"] == ".trivyignore"
    assert b["scan"]["suppressed"] == 1
    assert "suppressed by .trivyignore: " + CRIT_ID in scan_log(d, b["id"])
    # .ferryignore works the same, also for Dockerfile rules
    b = build(env, {"Dockerfile": "FROM ferry/busybox\nCOPY hello.txt /x\n", "hello.txt": "x\n",
                    ".ferryignore": "FERRY-DF-001  # a root image, on purpose\n"})
    assert [x["suppressed_by"] for x in d.ok("scan", b["id"])["suppressed"]] == [".ferryignore"]


def test_only_medium_findings_pass_and_are_recorded(env):
    d = env[0]
    b = build(env, image_with(dpkg_status(("ferrytest-med", "1.9-1"))))
    assert b["scan"]["passed"] is True
    assert b["scan"]["summary"]["MEDIUM"] == 1 and b["scan"]["summary"]["CRITICAL"] == 0
    [f] = finding(d.ok("scan", b["id"]), MED_ID)
    assert f["severity"] == "MEDIUM" and f["installed_version"] == "1.9-1"


def test_component_policy_can_fail_lower_or_only_report(env):
    d = env[0]
    # fail-on=medium: the MEDIUM finding now fails the build
    b = build(env, image_with(dpkg_status(("ferrytest-med", "1.9-1"))), "--scan-fail-on", "medium",
              ok=False)
    assert_failed_by_scan(d, b, MED_ID)
    assert b["scan"]["fail_on"] == "medium"
    # never: a root image is reported and still pushed
    b = build(env, {"Dockerfile": "FROM ferry/busybox\nCOPY hello.txt /x\n", "hello.txt": "x\n"},
              "--scan-fail-on", "never")
    assert b["scan"]["summary"]["CRITICAL"] == 1 and b["digest"]
    # a bad level is refused when the component is created
    r = d.cli("component", "create", "sec/bad", "--repo", "file:///nonexistent", "--scan-fail-on",
              "severe", "--json")
    assert r.rc != 0 and "severe" in r.err_json["error"]
    assert d.ok("component", "show", "sec/" + "s%d" % _n[0])["scan_policy"]["fail_on"] == "never"
