"""Generic table and sequence loaders on small files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sensorec.data import load_sequences, load_table
from sensorec.data.errors import DataFormatError

CSV = "uid,iid,stars,when,comment\nalice,7,4.5,100,ok\nbob,3,2,90,\nalice,3,5,110,great\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "log.csv", CSV)
    ds = load_table(path, user_col="uid", item_col="iid", rating_col="stars", timestamp_col="when")
    assert ds.name == "log"
    assert ds.users.to_list() == ["alice", "bob"]
    assert ds.items.to_list() == [7, 3]  # integer ids stay int
    assert isinstance(ds.items.to_list()[0], int)
    assert ds.users.raw(ds.user_index).tolist() == ["alice", "bob", "alice"]
    assert ds.ratings.tolist() == [4.5, 2.0, 5.0]
    assert ds.timestamps.tolist() == [100, 90, 110]
    assert ds.meta["columns"]["rating"] == "stars"
    assert ds.meta["duplicates"]["count"] == 0


def test_tsv_inferred_without_rating_or_time(tmp_path: Path) -> None:
    path = _write(tmp_path, "log.tsv", "u\ti\n007\t1\n7\t2\n\n\n")
    ds = load_table(path, user_col="u", item_col="i", name="mine")
    assert ds.name == "mine"
    assert ds.users.to_list() == ["007", "7"]  # zero-padded ids are not merged with 7
    assert np.isnan(ds.ratings).all() and (ds.timestamps == -1).all()
    assert ds.meta["blank_lines"] == 2


def test_parquet_with_datetime_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pd.DataFrame(
        {
            "u": [1, 2, 1],
            "i": ["x", "y", "y"],
            "t": pd.to_datetime(
                ["1970-01-01 00:00:10", "1970-01-02 00:00:00", "1970-01-01 00:01:00"]
            ),
            "r": [1.0, 2.0, 3.0],
        }
    ).to_parquet(path)
    ds = load_table(path, user_col="u", item_col="i", rating_col="r", timestamp_col="t")
    assert ds.timestamps.tolist() == [10, 86400, 60]
    assert ds.users.to_list() == [1, 2]
    assert ds.items.to_list() == ["x", "y"]


def test_parquet_missing_id_names_row(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pd.DataFrame({"u": [1.0, 2.0, None], "i": [1, 2, 3]}).to_parquet(path)
    with pytest.raises(DataFormatError, match=r"row 3: missing user id"):
        load_table(path, user_col="u", item_col="i")
    with pytest.raises(DataFormatError, match=r"missing column\(s\) \['v'\]"):
        load_table(path, user_col="v", item_col="i")


@pytest.mark.parametrize(
    ("text", "kwargs", "line", "needle"),
    [
        ("uid,iid\n1,2\n", {"rating_col": "stars"}, 1, "missing column(s) ['stars']"),
        (
            "uid,iid,stars\n1,2,3\n1,3,three\n",
            {"rating_col": "stars"},
            3,
            "'three' is not a number",
        ),
        ("uid,iid,stars\n1,2,3\n1,3,\n", {"rating_col": "stars"}, 3, "missing rating"),
        (
            "uid,iid,when\n1,2,5\n2,2,5\n1,3,soon\n",
            {"timestamp_col": "when"},
            4,
            "timestamp 'soon'",
        ),
        ("uid,iid,when\n1,2,5.5\n", {"timestamp_col": "when"}, 2, "is not an integer"),
        ("uid,iid\n1,2\n,3\n", {}, 3, "missing user id"),
        ("uid,iid\n1,2\n2,\n", {}, 3, "missing item id"),
        ("uid,iid\n1,2\n\n2,3\n", {}, 3, "empty line"),
        ("uid,iid\n1,2\n2,3\n2,3,4\n", {}, 4, "Expected 2 fields"),
        (
            "uid,iid,stars\n1,2,3\n1,3,9\n",
            {"rating_col": "stars", "rating_range": (1, 5)},
            3,
            "rating 9 outside 1..5",
        ),
    ],
)
def test_csv_errors_name_file_and_line(
    tmp_path: Path, text: str, kwargs: dict, line: int, needle: str
) -> None:
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(DataFormatError) as info:
        load_table(path, user_col="uid", item_col="iid", **kwargs)
    assert info.value.path == str(path)
    assert info.value.line == line
    assert needle in str(info.value)
    assert f"bad.csv, line {line}:" in str(info.value)


@pytest.mark.parametrize(
    ("policy", "items", "dropped"),
    [("keep", [1, 2, 1, 1], 0), ("first", [1, 2, 1], 1), ("last", [2, 1, 1], 1)],
)
def test_table_duplicate_policies(
    tmp_path: Path, policy: str, items: list[int], dropped: int
) -> None:
    path = _write(tmp_path, "d.csv", "u,i,r\na,1,1\na,2,2\nb,1,3\na,1,4\n")
    ds = load_table(path, user_col="u", item_col="i", rating_col="r", duplicates=policy)  # type: ignore[arg-type]
    assert ds.items.raw(ds.item_index).tolist() == items
    assert ds.meta["duplicates"] == {"policy": policy, "count": 1, "dropped": dropped}
    if policy == "last":
        assert ds.ratings.tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(DataFormatError, match=r"d.csv, line 5: .*repeats the pair of line 2"):
        load_table(path, user_col="u", item_col="i", duplicates="error")


def test_unknown_extension_needs_sep(tmp_path: Path) -> None:
    path = _write(tmp_path, "log.txt", "u;i\n1;2\n")
    with pytest.raises(ValueError, match="pass sep="):
        load_table(path, user_col="u", item_col="i")
    ds = load_table(path, user_col="u", item_col="i", sep=";")
    assert ds.n_interactions == 1


# -- sequences ----------------------------------------------------------------------------------
def test_sequences_per_interaction_layout(tmp_path: Path) -> None:
    path = _write(tmp_path, "ml.txt", "1 10\n2 30\n1 20\n1 10\n2 10\n")
    ds = load_sequences(path)
    assert ds.meta["layout"] == "per_interaction"
    assert ds.users.raw(ds.user_index).tolist() == [1, 2, 1, 1, 2]
    assert ds.items.raw(ds.item_index).tolist() == [10, 30, 20, 10, 10]
    assert ds.timestamps.tolist() == [0, 0, 1, 2, 1]  # position within each user's sequence
    assert np.isnan(ds.ratings).all()
    histories = [ds.items.raw(h).tolist() for h in ds.user_histories()]
    assert histories == [[10, 20, 10], [30, 10]]


def test_sequences_per_user_layout_matches(tmp_path: Path) -> None:
    per_user = load_sequences(_write(tmp_path, "a.txt", "1 10 20 10\n2 30 10\n"))
    per_line = load_sequences(_write(tmp_path, "b.txt", "1 10\n1 20\n1 10\n2 30\n2 10\n"), name="b")
    assert per_user.meta["layout"] == "per_user"
    assert per_user.name == "a"
    for ds in (per_user, per_line):
        assert [ds.items.raw(h).tolist() for h in ds.user_histories()] == [[10, 20, 10], [30, 10]]
    assert per_user.timestamps.tolist() == [0, 1, 2, 0, 1]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("1 10\n1 x\n", 2, "token 'x' is not an integer"),
        ("1 10\n\n1 20\n", 2, "empty line"),
        ("1 10 20\n3\n", 2, "single token"),
        ("1 10\n2 3.5\n", 2, "'3.5'"),
    ],
)
def test_sequences_errors(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = _write(tmp_path, "seq.txt", text)
    with pytest.raises(DataFormatError) as info:
        load_sequences(path)
    assert info.value.line == line
    assert needle in str(info.value)
    assert "seq.txt" in str(info.value)


def test_sequences_trailing_blank_lines_ok(tmp_path: Path) -> None:
    ds = load_sequences(_write(tmp_path, "s.txt", "1 2 3\n\n\n"))
    assert ds.n_interactions == 2
