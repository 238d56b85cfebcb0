"""The evidence pack: what it holds, that verify catches every change, signatures, and no secrets."""

import argparse
import base64
import gzip
import hashlib
import json
import os
import shutil
import stat
import zipfile

import pytest

from mhhs_sit.cli.evidence import register
from mhhs_sit.errors import ConfigError
from mhhs_sit.evidence.manifest import MANIFEST_NAME, canonical_json
from mhhs_sit.evidence.pack import pack
from mhhs_sit.evidence.signing import HmacSigner

HMAC_KEY = "k3y-for-the-ipa-0123456789abcdef"
RESULTS = {
    "run_id": "r0123abcd",
    "framework_version": "0.1.0",
    "started": "2026-11-23T11:15:43+00:00",
    "finished": "2026-11-23T11:16:02+00:00",
    "seed": 23,
    "environment": "local",
    "environment_tag": "DEV",
    "ir": "IR8.2",
    "spec_version": "2.1.0",
    "cohorts": ["C1", "C2"],
    "git_commit": "1fc9d71",
    "exit_status": 1,
    "totals": {"passed": 1, "failed": 1},
    "cases": [
        {"nodeid": "t/a.yaml::SITFT-01-001-TC01[C1]", "case": "SITFT-01-001-TC01", "status": "passed"},
        {"nodeid": "t/b.yaml::SITFT-03-001-TC01[C1]", "case": "SITFT-03-001-TC01", "status": "failed"},
    ],
}


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    (run / "allure-results").mkdir(parents=True)
    (run / "report").mkdir()
    (run / "results.json").write_text(json.dumps(RESULTS, indent=2))
    (run / "junit.xml").write_text('<testsuites><testsuite name="pytest" tests="2"/></testsuites>\n')
    (run / "allure-results" / "aaa-result.json").write_text('{"name": "SITFT-01-001-TC01", "status": "passed"}')
    (run / "allure-results" / "bbb-attachment.json").write_text('{"steps": [{"n": 1, "exchanges": []}]}')
    (run / "report" / "index.html").write_text("<html><body>MHHS SIT evidence</body></html>\n")
    return run


def cli(*argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def members(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(src, dst, change):
    """A copy of the zip ``src`` with its members changed by ``change(dict)``: tampering done properly."""
    contents = members(src)
    change(contents)
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return dst


def packed(run_dir, tmp_path, *signing):
    out = tmp_path / "pack.zip"
    assert cli("evidence", "pack", run_dir, "--out", out, *signing) == 0
    return out


def verified(capsys, pack_path, *keys):
    capsys.readouterr()
    rc = cli("evidence", "verify", pack_path, *keys)
    return rc, capsys.readouterr().out.splitlines()


def test_the_pack_holds_every_artefact_and_a_manifest_of_their_digests(run_dir, tmp_path, capsys):
    (run_dir / "completion-report.md").write_text("# Completion report\n")
    (run_dir / "rttm.csv").write_text("requirement,case\nIF-031,SITFT-01-001-TC01\n")
    (run_dir / "scratch.txt").write_text("not evidence")
    out = packed(run_dir, tmp_path)
    assert "not packed: scratch.txt (not part of the evidence)" in capsys.readouterr().out
    files = members(out)
    manifest = json.loads(files.pop(MANIFEST_NAME))
    assert sorted(files) == [
        "run/allure-results/aaa-result.json",
        "run/allure-results/bbb-attachment.json",
        "run/completion-report.md",
        "run/junit.xml",
        "run/report/index.html",
        "run/results.json",
        "run/rttm.csv",
    ]
    assert manifest["format"] == "mhhs-sit-evidence/1" and manifest["signature"] is None
    assert manifest["run"] == {k: v for k, v in RESULTS.items() if k != "cases"}
    assert manifest["created"] == RESULTS["finished"]
    assert manifest["files"] == [
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in sorted(files.items())
    ]
    for name, data in files.items():  # packed as they are on disk
        assert data == (tmp_path / name).read_bytes()


def test_an_unsigned_pack_fails_unless_the_reviewer_allows_it(run_dir, tmp_path, capsys):
    out = packed(run_dir, tmp_path)
    rc, lines = verified(capsys, out)
    assert rc == 1 and "SIGNATURE absent" in lines and lines[-1] == "FAIL"
    assert any("FAIL without --allow-unsigned" in line for line in lines)
    rc, lines = verified(capsys, out, "--allow-unsigned")
    assert rc == 0
    assert lines[-2:] == [
        "  note: unsigned pack: this shows the files match the manifest, not that the manifest is the original",
        "PASS",
    ]


def test_a_one_byte_change_is_altered_naming_the_file(run_dir, tmp_path, capsys):
    out = packed(run_dir, tmp_path)
    name = "run/allure-results/aaa-result.json"
    original = members(out)[name]
    changed = original.replace(b"passed", b"passes")
    assert len(changed) == len(original) and sum(a != b for a, b in zip(changed, original, strict=True)) == 1

    def flip(contents):
        contents[name] = changed

    rc, lines = verified(capsys, rewrite(out, tmp_path / "tampered.zip", flip), "--allow-unsigned")
    assert rc == 1
    expected, got = hashlib.sha256(original).hexdigest(), hashlib.sha256(changed).hexdigest()
    assert f"ALTERED {name} (sha256 expected {expected} got {got})" in lines
    assert [line for line in lines if line.startswith(("ALTERED", "ADDED", "MISSING"))] == [lines[1]]
    assert lines[-1] == "FAIL"


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (lambda c: c.update({"run/allure-results/ccc-result.json": b'{"status": "passed"}'}),
         "ADDED run/allure-results/ccc-result.json"),
        (lambda c: c.pop("run/junit.xml"), "MISSING run/junit.xml"),
    ],
    ids=["added", "removed"],
)  # fmt: skip
def test_an_added_or_removed_file_is_named(run_dir, tmp_path, capsys, change, finding):
    out = rewrite(packed(run_dir, tmp_path), tmp_path / "tampered.zip", change)
    rc, lines = verified(capsys, out, "--allow-unsigned")
    assert rc == 1
    assert [line for line in lines if line.startswith(("ALTERED", "ADDED", "MISSING"))] == [finding]
    assert lines[-1] == "FAIL"


def test_an_unpacked_directory_verifies_and_its_changes_are_found(run_dir, tmp_path, capsys):
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(packed(run_dir, tmp_path)) as zf:
        zf.extractall(unpacked)
    assert verified(capsys, unpacked, "--allow-unsigned")[0] == 0
    (unpacked / "run" / "report" / "index.html").write_text("<html><body>edited</body></html>\n")
    (unpacked / "run" / "results.json").unlink()
    (unpacked / "run" / "extra.txt").write_text("x")
    rc, lines = verified(capsys, unpacked, "--allow-unsigned")
    assert rc == 1
    assert [line.split(" (")[0] for line in lines if line.startswith(("ALTERED", "ADDED", "MISSING"))] == [
        "ALTERED run/report/index.html",
        "ADDED run/extra.txt",
        "MISSING run/results.json",
    ]


def test_an_hmac_signed_pack_verifies_with_the_key_and_never_holds_it(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)
    out = packed(run_dir, tmp_path, "--hmac-key-env", "EVIDENCE_HMAC")
    files = members(out)
    signature = json.loads(files[MANIFEST_NAME])["signature"]
    assert signature["scheme"] == "hmac-sha256"
    assert signature["key_id"] == hashlib.sha256(HMAC_KEY.encode()).hexdigest()[:16]
    assert not any(HMAC_KEY.encode() in data for data in files.values())
    rc, lines = verified(capsys, out, "--hmac-key-env", "EVIDENCE_HMAC")
    assert rc == 0 and f"SIGNATURE ok (hmac-sha256, key_id {signature['key_id']})" in lines and lines[-1] == "PASS"
    rc, lines = verified(capsys, out)  # no key: the signature cannot be checked, so no PASS
    assert rc == 1 and any(line.startswith("SIGNATURE unchecked") for line in lines) and lines[-1] == "FAIL"
    assert verified(capsys, out, "--allow-unsigned")[0] == 0  # integrity only, asked for


def test_files_changed_with_their_digests_in_the_manifest_fail_only_on_the_signature(
    run_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)
    out = packed(run_dir, tmp_path, "--hmac-key-env", "EVIDENCE_HMAC")
    name = "run/results.json"
    forged = json.dumps({**RESULTS, "totals": {"passed": 2}}).encode()

    def forge(contents):
        manifest = json.loads(contents[MANIFEST_NAME])
        entry = next(f for f in manifest["files"] if f["path"] == name)
        entry.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
        contents[name] = forged
        contents[MANIFEST_NAME] = json.dumps(manifest).encode()

    rc, lines = verified(capsys, rewrite(out, tmp_path / "forged.zip", forge), "--hmac-key-env", "EVIDENCE_HMAC")
    assert rc == 1
    assert not [line for line in lines if line.startswith(("ALTERED", "ADDED", "MISSING"))]
    assert any(line.startswith("SIGNATURE INVALID") for line in lines) and lines[-1] == "FAIL"


def test_a_wrong_hmac_key_is_invalid(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)
    monkeypatch.setenv("OTHER_HMAC", HMAC_KEY[:-1] + "X")
    out = packed(run_dir, tmp_path, "--hmac-key-env", "EVIDENCE_HMAC")
    rc, lines = verified(capsys, out, "--hmac-key-env", "OTHER_HMAC")
    assert rc == 1 and any(line.startswith("SIGNATURE INVALID") for line in lines) and lines[-1] == "FAIL"
    assert any("the key given has key_id" in line for line in lines)


def test_a_stripped_signature_fails_when_the_reviewer_expects_one(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)
    out = packed(run_dir, tmp_path, "--hmac-key-env", "EVIDENCE_HMAC")

    def strip(contents):
        manifest = json.loads(contents[MANIFEST_NAME])
        contents[MANIFEST_NAME] = json.dumps({**manifest, "signature": None}).encode()

    rc, lines = verified(capsys, rewrite(out, tmp_path / "stripped.zip", strip), "--hmac-key-env", "EVIDENCE_HMAC")
    assert rc == 1 and "SIGNATURE absent" in lines and lines[-1] == "FAIL"


def test_ed25519_keygen_sign_and_verify(run_dir, tmp_path, capsys):
    keys, other = tmp_path / "keys", tmp_path / "other-keys"
    assert cli("evidence", "keygen", "--out", keys) == 0
    assert cli("evidence", "keygen", "--out", other) == 0
    private, public = keys / "evidence-signing.key.pem", keys / "evidence-signing.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert cli("evidence", "keygen", "--out", keys) == 2  # never overwrites a key

    out = packed(run_dir, tmp_path, "--ed25519-key", private)
    files = members(out)
    signature = json.loads(files[MANIFEST_NAME])["signature"]
    assert signature["scheme"] == "ed25519" and signature["public_key"] and signature["value"]
    body = "".join(line for line in private.read_text().splitlines() if "-----" not in line)
    assert not any(body.encode() in data for data in files.values())

    rc, lines = verified(capsys, out, "--ed25519-public-key", public)
    assert rc == 0 and lines[-1] == "PASS" and any(line.startswith("SIGNATURE ok (ed25519") for line in lines)
    rc, lines = verified(capsys, out)  # the embedded key is never trusted: unchecked without a key named
    assert rc == 1 and any(line.startswith("SIGNATURE unchecked (ed25519") for line in lines)
    rc, lines = verified(capsys, out, "--ed25519-public-key", other / "evidence-signing.pub.pem")
    assert rc == 1 and any(line.startswith("SIGNATURE INVALID") for line in lines) and lines[-1] == "FAIL"


def test_an_ed25519_pack_re_signed_with_another_key_passes_only_when_signatures_are_waived(run_dir, tmp_path, capsys):
    """Why the embedded key proves nothing about origin: a forger can re-sign with their own key."""
    for d in ("keys", "forger"):
        cli("evidence", "keygen", "--out", tmp_path / d)
    (tmp_path / "forged").mkdir()
    forged_run = tmp_path / "forged" / "run"
    shutil.copytree(run_dir, forged_run)
    (forged_run / "junit.xml").write_text("<testsuites/>\n")
    genuine = packed(run_dir, tmp_path, "--ed25519-key", tmp_path / "keys" / "evidence-signing.key.pem")
    forged = tmp_path / "forged.zip"
    assert cli("evidence", "pack", forged_run, "--out", forged,
               "--ed25519-key", tmp_path / "forger" / "evidence-signing.key.pem") == 0  # fmt: skip
    assert members(genuine).keys() == members(forged).keys()
    assert verified(capsys, forged)[0] == 1  # its own embedded key is not asked
    assert verified(capsys, forged, "--allow-unsigned")[0] == 0  # integrity only: the reviewer's choice
    assert verified(capsys, forged, "--ed25519-public-key", tmp_path / "keys" / "evidence-signing.pub.pem")[0] == 1


@pytest.mark.parametrize("signing", ["none", "hmac", "ed25519"])
def test_packing_twice_gives_identical_bytes(run_dir, tmp_path, monkeypatch, signing):
    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)
    cli("evidence", "keygen", "--out", tmp_path / "keys")
    option = {
        "none": [],
        "hmac": ["--hmac-key-env", "EVIDENCE_HMAC"],
        "ed25519": ["--ed25519-key", tmp_path / "keys" / "evidence-signing.key.pem"],
    }[signing]
    assert cli("evidence", "pack", run_dir, "--out", tmp_path / "one.zip", *option) == 0
    for path in run_dir.rglob("*"):  # a copy or a later checkout: new timestamps, same content
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert cli("evidence", "pack", run_dir, "--out", tmp_path / "two.zip", *option) == 0
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_the_default_archive_is_beside_the_run_directory(run_dir, capsys):
    assert cli("evidence", "pack", run_dir) == 0
    assert (run_dir.parent / "run.evidence.zip").is_file()
    assert f"packed 5 files into {run_dir.parent / 'run.evidence.zip'}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("secret", "written"),
    [
        ("dip-api-key-5f3a9c", "dip-api-key-5f3a9c"),
        ('pa"ss/wo\\rd-42', json.dumps('pa"ss/wo\\rd-42')),  # as it appears inside a JSON string
    ],
    ids=["as-is", "json-escaped"],
)
def test_a_secret_in_a_file_refuses_the_pack_naming_file_and_variable(
    run_dir, tmp_path, capsys, monkeypatch, secret, written
):
    monkeypatch.setenv("MHHS_SITA_API_KEY", secret)
    monkeypatch.setenv("SHORT_TOKEN", "evidence")  # 8 characters, and in report/index.html: refused too
    monkeypatch.setenv("TINY_TOKEN", "MHHS")  # shorter than 8: too common to mean anything
    (run_dir / "allure-results" / "bbb-attachment.json").write_text(f'{{"headers": {{"x-api-key": {written}}}}}')
    out = tmp_path / "pack.zip"
    assert cli("evidence", "pack", run_dir, "--out", out) == 2
    captured = capsys.readouterr()
    assert "allure-results/bbb-attachment.json contains the value of MHHS_SITA_API_KEY" in captured.err
    assert "report/index.html contains the value of SHORT_TOKEN" in captured.err
    assert "TINY_TOKEN" not in captured.err
    assert secret not in captured.err + captured.out
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_the_hmac_key_in_a_file_refuses_the_pack_whatever_its_variable_is_called(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)  # a name the secret-name rule does not catch
    (run_dir / "junit.xml").write_text(f"<testsuites><properties value='{HMAC_KEY}'/></testsuites>")
    with pytest.raises(ConfigError, match=r"junit\.xml contains the value of the HMAC key in EVIDENCE_HMAC") as exc:
        pack(run_dir, tmp_path / "p.zip", signer=HmacSigner(HMAC_KEY.encode(), "the HMAC key in EVIDENCE_HMAC"))
    assert HMAC_KEY not in str(exc.value)


def test_a_directory_without_results_json_is_refused_naming_it(run_dir, tmp_path, capsys):
    (run_dir / "results.json").unlink()
    with pytest.raises(ConfigError, match=f"no results.json in {run_dir}"):
        pack(run_dir, tmp_path / "p.zip")
    assert cli("evidence", "pack", run_dir) == 2
    assert f"no results.json in {run_dir}" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["not-a-zip", "no-manifest", "bad-manifest"])
def test_verify_on_something_that_is_not_a_pack_exits_2_with_a_message(run_dir, tmp_path, capsys, kind):
    path = tmp_path / "thing.zip"
    if kind == "not-a-zip":
        path.write_text("hello")
        message = "is not a zip archive"
    elif kind == "no-manifest":
        rewrite(packed(run_dir, tmp_path), path, lambda c: c.pop(MANIFEST_NAME))
        message = "has no MANIFEST.json"
    else:
        rewrite(packed(run_dir, tmp_path), path, lambda c: c.update({MANIFEST_NAME: b'{"format": "x"}'}))
        message = "MANIFEST.json has format 'x'"
    capsys.readouterr()
    assert cli("evidence", "verify", path) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_the_signed_bytes_are_the_canonical_manifest_without_its_signature(run_dir, tmp_path, monkeypatch):
    """The documented contract, checked independently of the signing code."""
    import hmac

    monkeypatch.setenv("EVIDENCE_HMAC", HMAC_KEY)
    manifest = json.loads(members(packed(run_dir, tmp_path, "--hmac-key-env", "EVIDENCE_HMAC"))[MANIFEST_NAME])
    signature = manifest.pop("signature")
    signed = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    assert signed == canonical_json(manifest)
    assert signature["value"] == hmac.new(HMAC_KEY.encode(), signed, hashlib.sha256).hexdigest()


def _allure_single_file(*embedded):
    """An Allure single-file report as it embeds its data: each file as base64 inside a script."""
    calls = "".join(f"d('data/attachments/{i}.json','{base64.b64encode(data).decode()}');" for i, data in
                    enumerate(embedded))  # fmt: skip
    return f"<html><head><script>{calls}</script></head><body>report</body></html>\n"


def test_a_secret_only_base64_or_compressed_inside_files_is_found_in_every_file(run_dir, tmp_path, capsys, monkeypatch):
    secret = "sk-live-9f8e7d6c5b4a"
    monkeypatch.setenv("MHHS_SITA_API_KEY", secret)
    attachment = json.dumps({"request": {"headers": {"x-api-key": secret}}, "n": 1}).encode()
    (run_dir / "report" / "index.html").write_text(_allure_single_file(b'{"name": "TC01"}', attachment))
    (run_dir / "allure-results" / "ccc-attachment.json.gz").write_bytes(gzip.compress(attachment))
    (run_dir / "allure-results" / "ddd-attachment.txt").write_text(  # base64 of base64, mid-text
        "body=" + base64.urlsafe_b64encode(b"xx" + base64.b64encode(b"key " + secret.encode())).decode()
    )
    with zipfile.ZipFile(run_dir / "rttm.xlsx", "w", zipfile.ZIP_DEFLATED) as xlsx:  # a workbook: deflated XML
        xlsx.writestr("[Content_Types].xml", "<Types/>")
        xlsx.writestr("xl/sharedStrings.xml", f"<sst><si><t>{secret}</t></si></sst>")
    assert secret.encode() not in b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    assert cli("evidence", "pack", run_dir, "--out", tmp_path / "p.zip") == 2
    err = capsys.readouterr().err
    assert "report/index.html contains the value of MHHS_SITA_API_KEY (encoded: base64)" in err
    assert "allure-results/ccc-attachment.json.gz contains the value of MHHS_SITA_API_KEY (encoded: gzip)" in err
    assert "allure-results/ddd-attachment.txt contains the value of MHHS_SITA_API_KEY (encoded: base64" in err
    assert "rttm.xlsx contains the value of MHHS_SITA_API_KEY (encoded: zip member xl/sharedStrings.xml)" in err
    assert secret not in err and not (tmp_path / "p.zip").exists()


def test_base64_of_other_data_is_not_taken_for_a_secret(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MHHS_SITA_API_KEY", "sk-live-9f8e7d6c5b4a")
    blobs = [os.urandom(3000) for _ in range(20)] + [json.dumps(RESULTS).encode()]
    (run_dir / "report" / "index.html").write_text(_allure_single_file(*blobs))
    assert pack(run_dir, tmp_path / "p.zip").path.is_file()


def test_a_secret_at_any_offset_of_a_base64_blob_is_found_without_decoding_it_from_its_start():
    from mhhs_sit.evidence.secretscan import forms, scan

    secret = "p@ss-w0rd-4242"
    for offset in range(6):
        blob = base64.b64encode(b"abc" + b"x" * offset + secret.encode() + b"tail")
        text = b"prefix-" + blob[4:]  # the run no longer starts where the blob does: decoding it gives garbage
        assert [f.variable for f in scan(text, {"K": forms(secret)})] == ["K"], offset


def test_a_compression_bomb_is_bounded_and_refused_as_unsearchable(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MHHS_SITA_API_KEY", "sk-live-9f8e7d6c5b4a")
    monkeypatch.setattr("mhhs_sit.evidence.secretscan.MAX_DECODED_BYTES", 8 << 20)
    (run_dir / "allure-results" / "bomb.gz").write_bytes(gzip.compress(b"\0" * (64 << 20)))
    with pytest.raises(ConfigError, match=r"allure-results/bomb.gz cannot be searched for secrets: more than 8 MB"):
        pack(run_dir, tmp_path / "p.zip")
