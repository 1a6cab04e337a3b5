"""The metadata contract between the assets that write a run's metadata and the commands that
read it back (`services.run_metadata`)."""

import pytest
from dagster import MetadataValue

from learning_loop.defs.metadata import errors_metadata, recorded, seconds_metadata
from learning_loop.services.run_metadata import (
    NONE,
    CollectKey,
    VideoPlansKey,
    count,
    joined,
    listed,
    text,
)


def test_an_asset_records_every_key_of_its_contract_as_a_plain_string():
    values = {key: 1 for key in VideoPlansKey}
    written = recorded(VideoPlansKey, values)
    assert list(written) == [key.value for key in VideoPlansKey]
    assert all(type(key) is str for key in written)  # Dagster stores no enum
    del values[VideoPlansKey.ERRORS]
    with pytest.raises(ValueError, match="VideoPlansKey: no value for errors"):
        recorded(VideoPlansKey, values)


def test_what_is_absent_is_written_as_none_and_read_as_nothing():
    assert errors_metadata([]) == MetadataValue.md(NONE)
    assert seconds_metadata(None) == MetadataValue.text(NONE)
    assert seconds_metadata(0.5) == MetadataValue.float(0.5)
    run = {"errors": NONE, "videos_polled": 3, "broken_connections": NONE}
    assert text(run, CollectKey.ERRORS) is None
    assert text({"errors": "- boom"}, CollectKey.ERRORS) == "- boom"
    assert count(run, CollectKey.VIDEOS_POLLED) == 3
    assert count(run, CollectKey.VIDEOS_DUE) == 0  # not recorded
    assert listed(run, CollectKey.BROKEN_CONNECTIONS) == []


def test_a_list_read_back_is_the_list_written():
    assert joined([]) == NONE
    written = {CollectKey.BROKEN_CONNECTIONS.value: joined(["a-1", "b-2"])}
    assert listed(written, CollectKey.BROKEN_CONNECTIONS) == ["a-1", "b-2"]
