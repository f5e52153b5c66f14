#!/usr/bin/python3
"""bench/scan/gen.py: a synthetic image root and OSV database for bench/scan/run.

Usage: gen.py OUTDIR [PACKAGES=500] [ADVISORIES=50000]

OUTDIR/rootfs   etc/os-release (Debian 12) and var/lib/dpkg/status with
                PACKAGES installed packages, about a third of them built from
                a differently named source package (as libssl3 from openssl),
                some with epochs, ~ and +debNNuM versions; and 40 files per
                package under usr/ for the lockfile search to walk.
OUTDIR/vulndb   ADVISORIES OSV records, one file each, in the shapes osv.dev
                exports: Debian/ (80%: DEBIAN-CVE-* naming a source package,
                affected for Debian:11 and Debian:12, ECOSYSTEM ranges, urgency),
                npm/ and PyPI/ (GHSA-* with SEMVER/ECOSYSTEM ranges, CVSS 3.1
                vectors and database_specific.severity). Advisories name about
                4,000 distinct Debian sources, so each installed source has a
                dozen or so advisories to compare versions against, like the
                real Debian database.
Deterministic (fixed seed).
"""
import json
import os
import random
import sys

out = sys.argv[1]
npkg = int(sys.argv[2]) if len(sys.argv) > 2 else 500
nadv = int(sys.argv[3]) if len(sys.argv) > 3 else 50000
rnd = random.Random(6)

def version():
    v = "%d.%d.%d" % (rnd.randint(0, 9), rnd.randint(0, 30), rnd.randint(0, 20))
    if rnd.random() < 0.1:
        v = "%d:%s" % (rnd.randint(1, 3), v)
    if rnd.random() < 0.1:
        v += "~rc%d" % rnd.randint(1, 3)
    v += "-%d" % rnd.randint(1, 5)
    if rnd.random() < 0.3:
        v += "+deb12u%d" % rnd.randint(1, 9)
    return v

sources = ["src%04d" % i for i in range(4000)]
installed = []
for i in range(npkg):
    src = sources[i * 7 % len(sources)]
    name = src if rnd.random() < 0.66 else "lib%s-%d" % (src, i)
    installed.append((name, src, version()))

root = os.path.join(out, "rootfs")
os.makedirs(os.path.join(root, "etc"), exist_ok=True)
os.makedirs(os.path.join(root, "var/lib/dpkg"), exist_ok=True)
with open(os.path.join(root, "etc/os-release"), "w") as f:
    f.write('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')
with open(os.path.join(root, "var/lib/dpkg/status"), "w") as f:
    for name, src, ver in installed:
        f.write("Package: %s\nStatus: install ok installed\nPriority: optional\n"
                "Section: libs\nInstalled-Size: %d\nMaintainer: Debian <d@example.org>\n"
                "Architecture: amd64\n" % (name, rnd.randint(10, 90000)))
        if name != src:
            f.write("Source: %s\n" % src)
        f.write("Version: %s\nDepends: libc6 (>= 2.34)\n"
                "Description: package %s\n a longer description of %s\n .\n"
                " spanning several lines as real ones do.\n\n" % (ver, name, name))
# The files the packages installed (40 each, 20,000 for 500 packages, about
# what debian:12 plus a runtime holds): the lockfile search walks them all.
for name, src, ver in installed:
    d = os.path.join(root, "usr/share/doc", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "copyright"), "w") as f:
        f.write("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
    d = os.path.join(root, "usr/lib/x86_64-linux-gnu", name)
    os.makedirs(d, exist_ok=True)
    for k in range(39):
        open(os.path.join(d, "f%d.so" % k), "w").close()

vectors = ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
           "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"]
urgency = ["low", "medium", "high", "unimportant", "not yet assigned"]
db = os.path.join(out, "vulndb")
for d in ("Debian", "npm", "PyPI"):
    os.makedirs(os.path.join(db, d), exist_ok=True)
for i in range(nadv):
    year = 2000 + i % 25
    details = ("A flaw was found in component %d that allows a remote attacker to cause "
               "a denial of service or possibly execute arbitrary code via crafted input. "
               % i) * 2
    if i % 10 < 8:
        src = rnd.choice(sources)
        cid = "CVE-%d-%d" % (year, 10000 + i)
        rec = {"schema_version": "1.6.0", "id": "DEBIAN-" + cid,
               "modified": "2024-06-01T00:00:00Z", "published": "%d-01-01T00:00:00Z" % year,
               "upstream": [cid], "details": details, "affected": []}
        for rel in ("11", "12"):
            a = {"package": {"ecosystem": "Debian:" + rel, "name": src},
                 "ecosystem_specific": {"urgency": rnd.choice(urgency)}}
            ev = [{"introduced": "0"}]
            if rnd.random() < 0.85:
                ev.append({"fixed": version()})
            a["ranges"] = [{"type": "ECOSYSTEM", "events": ev}]
            rec["affected"].append(a)
        path = os.path.join(db, "Debian", rec["id"] + ".json")
    else:
        eco = "npm" if i % 10 == 8 else "PyPI"
        name = "pkg%d" % rnd.randint(0, 3000)
        gid = "GHSA-%04x-%04x-%04x" % (i, rnd.randint(0, 65535), rnd.randint(0, 65535))
        lo = "%d.%d.0" % (rnd.randint(0, 3), rnd.randint(0, 9))
        hi = "%d.%d.%d" % (rnd.randint(4, 6), rnd.randint(0, 9), rnd.randint(1, 9))
        rec = {"schema_version": "1.6.0", "id": gid, "modified": "2024-06-01T00:00:00Z",
               "aliases": ["CVE-%d-%d" % (year, 20000 + i)], "summary": "Issue %d in %s" % (i, name),
               "details": details,
               "severity": [{"type": "CVSS_V3", "score": rnd.choice(vectors)}],
               "database_specific": {"severity": rnd.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])},
               "affected": [{"package": {"ecosystem": eco, "name": name},
                             "ranges": [{"type": "SEMVER" if eco == "npm" else "ECOSYSTEM",
                                         "events": [{"introduced": lo}, {"fixed": hi}]}]}]}
        path = os.path.join(db, eco, gid + ".json")
    with open(path, "w") as f:
        json.dump(rec, f)
print("generated %d packages, %d advisories in %s" % (npkg, nadv, out))
