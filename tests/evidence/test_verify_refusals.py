"""verify on a hostile pack: links, FIFOs, devices and escaping paths are refused, never followed
or opened; stripped and forged signatures fail. Each verify runs as a real `mhhs-sit evidence
verify` process with a timeout, so a regression that hangs fails the test instead of the suite."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.evidence.test_pack import HMAC_KEY, RESULTS, cli, members, rewrite

VERIFY = [sys.executable, "-m", "mhhs_sit.cli.app", "evidence", "verify"]


@pytest.fixture
def unpacked(tmp_path):
    run = tmp_path / "run"
    (run / "allure-results").mkdir(parents=True)
    (run / "results.json").write_text(json.dumps(RESULTS))
    (run / "allure-results" / "a-result.json").write_text('{"status": "passed"}')
    out = tmp_path / "pack.zip"
    assert cli("evidence", "pack", run, "--out", out) == 0
    target = tmp_path / "unpacked"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(target)
    return target


def verify(path, *options, env=None):
    done = subprocess.run(
        [*VERIFY, str(path), *map(str, options)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stdout.splitlines(), done.stderr


def refused(lines):
    return [line for line in lines if line.startswith("REFUSED")]


def test_the_clean_unpacked_pack_passes_when_unsigned_is_allowed(unpacked):
    rc, lines, _ = verify(unpacked, "--allow-unsigned")
    assert rc == 0 and lines[-1] == "PASS" and not refused(lines)


def test_a_fifo_is_refused_without_being_opened(unpacked):
    os.mkfifo(unpacked / "run" / "allure-results" / "pipe")  # opening it for reading would block forever
    rc, lines, err = verify(unpacked, "--allow-unsigned")
    assert rc == 1 and lines[-1] == "FAIL" and err == ""
    assert refused(lines) == ["REFUSED run/allure-results/pipe (a FIFO (named pipe), not opened)"]


def test_a_link_to_a_device_is_refused_not_read(unpacked):
    os.symlink("/dev/zero", unpacked / "run" / "zero.json")  # reading it would never end
    rc, lines, _ = verify(unpacked, "--allow-unsigned")
    assert rc == 1
    assert refused(lines) == [
        "REFUSED run/zero.json (a symbolic link to /dev/zero (pointing outside the pack), not followed)"
    ]


def test_a_broken_link_is_refused_without_a_traceback(unpacked):
    os.symlink("nowhere.json", unpacked / "run" / "gone.json")
    rc, lines, err = verify(unpacked, "--allow-unsigned")
    assert rc == 1 and "Traceback" not in err
    assert refused(lines) == [
        "REFUSED run/gone.json (a symbolic link to nowhere.json (broken: its target does not exist), not followed)"
    ]


def test_a_link_escaping_the_pack_is_refused_even_where_a_packed_file_was(unpacked, tmp_path):
    """The link takes the place of a listed file whose content it copies: still refused, and named once."""
    outside = tmp_path / "outside.json"
    results = unpacked / "run" / "results.json"
    outside.write_bytes(results.read_bytes())
    results.unlink()
    os.symlink(outside, results)
    os.symlink(tmp_path, unpacked / "run" / "up")  # a linked directory: never descended into
    rc, lines, _ = verify(unpacked, "--allow-unsigned")
    assert rc == 1
    assert refused(lines) == [
        f"REFUSED run/results.json (a symbolic link to {outside} (pointing outside the pack), not followed)",
        f"REFUSED run/up (a symbolic link to {tmp_path} (pointing outside the pack), not followed)",
    ]
    assert not [line for line in lines if line.startswith("MISSING")]


def test_a_linked_manifest_is_not_a_pack(unpacked, tmp_path):
    manifest = unpacked / "MANIFEST.json"
    (tmp_path / "m.json").write_bytes(manifest.read_bytes())
    manifest.unlink()
    os.symlink(tmp_path / "m.json", manifest)
    rc, lines, err = verify(unpacked)
    assert rc == 2 and "MANIFEST.json is a symbolic link" in err and lines == []


@pytest.mark.parametrize("name", ["../evil.json", "/etc/evil.json", "run/../../evil.json"])
def test_a_zip_member_outside_the_pack_is_refused(unpacked, tmp_path, name):
    zipped = tmp_path / "pack.zip"
    rewrite(zipped, tmp_path / "evil.zip", lambda c: c.update({name: b"{}"}))
    rc, lines, _ = verify(tmp_path / "evil.zip", "--allow-unsigned")
    assert rc == 1 and refused(lines) == [
        f"REFUSED {name} (a path outside the pack (absolute, or with '..'): unpacking it would write elsewhere)"
    ]


def test_a_manifest_listing_a_path_outside_the_pack_is_refused(tmp_path, unpacked):
    def escape(contents):
        manifest = json.loads(contents["MANIFEST.json"])
        manifest["files"].append({"path": "../../etc/passwd", "sha256": "0" * 64, "size": 1})
        contents["MANIFEST.json"] = json.dumps(manifest).encode()

    rc, lines, _ = verify(rewrite(tmp_path / "pack.zip", tmp_path / "e.zip", escape), "--allow-unsigned")
    assert rc == 1
    assert "REFUSED ../../etc/passwd (listed in the manifest with a path outside the pack)" in lines


def test_a_zip_member_stored_as_a_link_is_refused(tmp_path, unpacked):
    evil = tmp_path / "link.zip"
    contents = members(tmp_path / "pack.zip")
    with zipfile.ZipFile(evil, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
        info = zipfile.ZipInfo("run/secret")
        info.create_system = 3
        info.external_attr = 0o120777 << 16  # a symbolic link to /etc/shadow once unzipped
        zf.writestr(info, "/etc/shadow")
    rc, lines, _ = verify(evil, "--allow-unsigned")
    assert rc == 1
    assert refused(lines) == [
        "REFUSED run/secret (stored as a symbolic link or special file: unpacking it would point elsewhere)"
    ]


def test_a_fifo_or_device_given_as_the_pack_is_not_a_pack(tmp_path):
    os.mkfifo(tmp_path / "pipe.zip")
    os.symlink("/dev/zero", tmp_path / "zero.zip")
    for path, kind in ((tmp_path / "pipe.zip", "a FIFO (named pipe)"), (tmp_path / "zero.zip", "a character device")):
        rc, _, err = verify(path)
        assert rc == 2 and f"is {kind}, not a zip archive or a directory" in err


def test_stripped_and_forged_signatures_fail_without_a_key_and_with_it(tmp_path, unpacked, monkeypatch):
    """Re-signing a changed pack with the forger's key, or removing the signature, never passes
    unless the reviewer asks for an unsigned check; a named key catches both."""
    env = {"EVIDENCE_HMAC": HMAC_KEY, "FORGER_HMAC": "f0rg3r-key-0123456789abcdef"}
    run = tmp_path / "run"
    genuine = tmp_path / "genuine.zip"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli("evidence", "pack", run, "--out", genuine, "--hmac-key-env", "EVIDENCE_HMAC") == 0
    (run / "results.json").write_text(json.dumps({**RESULTS, "totals": {"passed": 2}}))
    forged = tmp_path / "forged.zip"
    assert cli("evidence", "pack", run, "--out", forged, "--hmac-key-env", "FORGER_HMAC") == 0

    def strip(contents):
        contents["MANIFEST.json"] = json.dumps({**json.loads(contents["MANIFEST.json"]), "signature": None}).encode()

    stripped = rewrite(genuine, tmp_path / "stripped.zip", strip)
    assert verify(genuine, "--hmac-key-env", "EVIDENCE_HMAC", env=env)[0] == 0
    for pack in (forged, stripped):
        rc, lines, _ = verify(pack, env=env)
        assert rc == 1 and lines[-1] == "FAIL"
        rc, lines, _ = verify(pack, "--hmac-key-env", "EVIDENCE_HMAC", env=env)
        assert rc == 1 and any(line.startswith(("SIGNATURE INVALID", "SIGNATURE absent")) for line in lines)
    key_id = hashlib.sha256(env["FORGER_HMAC"].encode()).hexdigest()[:16]
    assert any(f"signed with key_id {key_id}" in line for line in verify(forged, "--hmac-key-env", "EVIDENCE_HMAC",
                                                                             env=env)[1])  # fmt: skip
