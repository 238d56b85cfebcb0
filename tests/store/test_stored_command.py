"""The command a run is stored with never keeps a password from a URL in clear."""

from mhhs_sit.collection.recorder import without_credentials


def test_a_password_in_a_store_url_is_masked():
    command = "tests --mhhs-store postgresql://sit:s3cr%40t@db.example:5432/results -q"
    assert without_credentials(command) == "tests --mhhs-store postgresql://sit:***@db.example:5432/results -q"


def test_a_url_without_a_password_is_kept():
    command = "--mhhs-store postgresql://sit@db/results --mhhs-store sqlite:///r.sqlite"
    assert without_credentials(command) == command
