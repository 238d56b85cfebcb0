"""Secrets masked in evidence text, however JSON writes them; personal data masked by field name."""

from __future__ import annotations

import json

import pytest

from mhhs_sit.evidence.redact import MASK, Scrubber, redact


def compact(data):
    return json.dumps(data, separators=(",", ":"))


def readable(data):
    return json.dumps(data, ensure_ascii=False)


def strings(value):
    """Every key and string value in a decoded JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("encode", [compact, readable])
@pytest.mark.parametrize(
    "secret",
    ["plain-secret-value", 'with"quote-and\\slash', "naïve-café-secret", "line\nbreak-secret"],
)
def test_a_secret_is_masked_as_json_writes_it(secret, encode):
    data = {"headers": {"note": f"token={secret};"}, "list": [secret, "other"], secret: 1}
    text = encode(data)
    out = Scrubber([secret])(text, data, encode)
    parsed = json.loads(out)
    assert not [found for found in strings(parsed) if secret in found]
    assert parsed["headers"]["note"] == f"token={MASK};" and parsed["list"] == [MASK, "other"] and MASK in parsed


def test_the_longer_of_two_overlapping_secrets_is_masked_whole():
    data = {"v": "abcdefgh-ijklmnop"}
    out = Scrubber(["abcdefgh", "abcdefgh-ijklmnop"])(compact(data), data, compact)
    assert json.loads(out) == {"v": MASK}


def test_no_secrets_or_no_match_leaves_the_text_as_it_is():
    data = {"v": "nothing to hide"}
    text = compact(data)
    assert not Scrubber([]) and Scrubber([])(text, data, compact) is text
    assert Scrubber(["absent-secret"])(text, data, compact) is text


def test_a_match_that_would_break_the_json_falls_back_to_masking_the_data():
    # the data holds a backslash then "nSECRETVALUE"; JSON writes the backslash as \\, so the text
    # contains "\nSECRETVALUE", which is how JSON writes the secret "<newline>SECRETVALUE", yet the
    # data does not hold that secret. Masking the text would leave "\***", which is not JSON.
    secret = "\nSECRETVALUE"
    data = {"v": "\\nSECRETVALUE", "w": secret}
    text = compact(data)
    out = Scrubber([secret])(text, data, compact)
    assert json.loads(out) == {"v": "\\nSECRETVALUE", "w": MASK}


def test_personal_fields_are_masked_by_name_at_any_depth():
    data = {"B071": {"addressLine1": "1 Test Street", "postcode": None, "items": [{"PostCode": "SW1A 2AA"}]}}
    out = redact(data, personal=frozenset({"addressline1", "postcode"}))
    assert out == {"B071": {"addressLine1": MASK, "postcode": None, "items": [{"PostCode": MASK}]}}
