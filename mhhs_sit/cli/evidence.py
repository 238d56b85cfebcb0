"""``mhhs-sit evidence pack | verify | keygen``: the evidence pack handed to the IPA.

:func:`register` adds the commands to the main parser. Exit codes: ``pack`` and ``keygen`` 0 on
success, 2 when they cannot or must not (no results.json, a secret found, a bad key);
``verify`` 0 for PASS, 1 for FAIL (an unsigned or unchecked pack too, unless ``--allow-unsigned``),
2 when the input is not a usable pack or key.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from mhhs_sit.cli.common import guarded
from mhhs_sit.evidence.pack import default_out, pack
from mhhs_sit.evidence.signing import Ed25519Signer, HmacSigner, Signer, hmac_key_from_env, keygen, load_public_key
from mhhs_sit.evidence.verify import verify

Handler = Callable[[argparse.Namespace], int]

_SIGNED_BYTES = """\
what is signed: MANIFEST.json without its "signature" member, as canonical JSON (keys sorted
at every level, separators "," and ":" with no spaces, non-ASCII as \\uXXXX escapes), i.e.
Python's json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=True). The manifest
holds the SHA-256 and size of every packed file, the run's metadata and the creation time.
"""

_PACK_EPILOG = (
    """\
Packs results.json (required), junit.xml, allure-results/, report/, completion-report.* and
rttm.* from RUN_DIR under a folder named after it, with MANIFEST.json at the root. Anything else
in RUN_DIR is listed as not packed. Packing the same run twice gives identical bytes.

Packing is refused, naming every such file and the variable but never the value, when a file
holds the value (8+ characters) of an environment variable whose name contains KEY, SECRET,
TOKEN, PASSWORD, PASSWD or CREDENTIAL, or holds the signing key: as is, escaped (JSON, HTML,
URL) or encoded (base64, as the Allure report embeds its data; gzip; zip members, e.g. rttm.xlsx).

"""
    + _SIGNED_BYTES
    + """
examples:
  mhhs-sit evidence pack results/20261123-111543
  MHHS_EVIDENCE_HMAC=... mhhs-sit evidence pack results/20261123-111543 --hmac-key-env MHHS_EVIDENCE_HMAC
  mhhs-sit evidence pack results/20261123-111543 --ed25519-key keys/evidence-signing.key.pem
  mhhs-sit evidence verify results/20261123-111543.evidence.zip --ed25519-public-key signer.pub.pem
"""
)

_VERIFY_EPILOG = """\
Prints REFUSED for anything verify would not read (a symbolic link, never followed; a FIFO,
device or socket, never opened; a path outside the pack), ALTERED (with both SHA-256s), ADDED
and MISSING for every file that differs from the manifest, then the signature's status (ok,
INVALID, absent, or unchecked when no key was given), then PASS or FAIL.

A signature is checked only against the key you name (--hmac-key-env, or --ed25519-public-key
with the signer's public key obtained from them separately): the public key a pack carries proves
nothing, since anyone can re-sign a changed pack with their own. Without a key, an unsigned or
unchecked pack FAILS unless --allow-unsigned is given, which accepts a check of the files against
the manifest alone.

exit status: 0 PASS, 1 FAIL, 2 not a usable pack or key.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evidence`` command and its sub-commands to the main parser."""
    parser = subparsers.add_parser(
        "evidence",
        help="pack a run's evidence into one (optionally signed) archive; verify or sign one",
        description="The evidence pack: one archive of a run's results, reports and a manifest of "
        "SHA-256 digests, optionally signed, that a reviewer can verify file by file.",
    )
    commands = parser.add_subparsers(dest="evidence_command", metavar="COMMAND", required=True)
    raw = argparse.RawDescriptionHelpFormatter

    p = commands.add_parser(
        "pack",
        help="pack a run directory into RUN_DIR.evidence.zip with a manifest",
        description="Pack a run directory written by `mhhs-sit run --out` into one zip with a manifest.",
        epilog=_PACK_EPILOG,
        formatter_class=raw,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="the run directory (holds results.json)")
    p.add_argument("--out", metavar="FILE", type=Path, help="the archive to write (default: RUN_DIR.evidence.zip)")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--hmac-key-env",
        metavar="VAR",
        help="sign with HMAC-SHA256, the key read from environment variable VAR (never stored)",
    )
    how.add_argument("--ed25519-key", metavar="PATH", type=Path, help="sign with this Ed25519 private key (PEM)")
    p.set_defaults(func=_guarded(cmd_pack))

    v = commands.add_parser(
        "verify",
        help="check a pack's files against its manifest and its signature; exit 0 PASS, 1 FAIL",
        description="Check every file of an evidence pack (a .zip, or the directory it was unpacked "
        "into) against its manifest, and the manifest against its signature.",
        epilog=_VERIFY_EPILOG + "\n" + _SIGNED_BYTES,
        formatter_class=raw,
    )
    v.add_argument("pack", metavar="PACK", type=Path, help="the .zip, or the directory it was unpacked into")
    key = v.add_mutually_exclusive_group()
    key.add_argument("--hmac-key-env", metavar="VAR", help="require an HMAC signature by the key in variable VAR")
    key.add_argument(
        "--ed25519-public-key",
        metavar="PATH",
        type=Path,
        help="require an Ed25519 signature by this public key (PEM, or its base64 raw form)",
    )
    v.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="accept a pack whose signature is absent or not checked (no key given): the files are checked "
        "against the manifest only, which proves nothing about who made it",
    )
    v.set_defaults(func=_guarded(cmd_verify))

    k = commands.add_parser(
        "keygen",
        help="create an Ed25519 key pair for signing packs",
        description="Create an Ed25519 key pair: the private key (mode 0600) signs packs; hand the "
        "public key to the reviewer separately from the packs.",
    )
    k.add_argument("--out", metavar="DIR", type=Path, required=True, help="directory for the two key files")
    k.set_defaults(func=_guarded(cmd_keygen))


def _guarded(handler: Handler) -> Handler:
    return guarded(handler, lambda args: f"mhhs-sit evidence {args.evidence_command}")


def cmd_pack(args: argparse.Namespace) -> int:
    """Pack; print where, the archive's SHA-256, the signature and anything not packed."""
    signer: Signer | None = None
    if args.hmac_key_env:
        signer = HmacSigner(hmac_key_from_env(args.hmac_key_env), source=f"the HMAC key in {args.hmac_key_env}")
    elif args.ed25519_key:
        signer = Ed25519Signer.from_file(args.ed25519_key)
    result = pack(args.run_dir, args.out or default_out(args.run_dir), signer=signer)
    sig = result.manifest.signature
    signed = f"{sig['scheme']}, key_id {sig['key_id']}" if sig else "none"
    print(f"packed {len(result.manifest.files)} files into {result.path}")
    print(f"sha256 {result.sha256}")
    print(f"signature: {signed}")
    for s in result.skipped:
        print(f"not packed: {s.path} ({s.reason})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify; print the findings and PASS or FAIL."""
    hmac_key = hmac_key_from_env(args.hmac_key_env) if args.hmac_key_env else None
    public_key = load_public_key(args.ed25519_public_key) if args.ed25519_public_key else None
    result = verify(args.pack, hmac_key=hmac_key, public_key=public_key, allow_unsigned=args.allow_unsigned)
    print(result.render())
    return 0 if result.passed else 1


def cmd_keygen(args: argparse.Namespace) -> int:
    """Write the key pair and say which file goes where."""
    pair = keygen(args.out)
    print(f"private key {pair.private} (mode 0600): keep it secret; sign with --ed25519-key {pair.private}")
    print(f"public key  {pair.public}: give it to the reviewer, who verifies with --ed25519-public-key")
    print(f"key_id {pair.key_id}")
    return 0
