"""MovieLens loaders on tiny files written here, the download path on a local server, and the
real ML-100K / ML-1M (partial) from the shared folder."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sensorec.data import download as dl
from sensorec.data import leave_one_out, load_movielens
from sensorec.data.errors import DataFormatError, DatasetNotFoundError

GENRES = (
    "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n"
    "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\n"
    "Romance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n"
)


def _flags(*names: str) -> str:
    order = [line.split("|")[0] for line in GENRES.strip().splitlines()]
    return "|".join("1" if g in names else "0" for g in order)


U_USER = "7|24|M|technician|85711\n3|53|F|other|94043\n5|23|M|writer|T8H1N\n"
U_ITEM = (
    f"10|Toy Story (1995)|01-Jan-1995||http://imdb/ts|{_flags('Animation', 'Comedy')}\n"
    f"20|unknown||||{_flags('unknown')}\n"
    f"30|Cité des enfants perdus, La (1995)|16-Dec-1995||http://imdb/c|{_flags('Drama')}\n"
    f"40|Never Rated (1990)|01-Jan-1990||http://imdb/n|{_flags('Action', 'War')}\n"
)
U_DATA = "3\t10\t4\t881250949\n7\t30\t1\t881250950\n5\t10\t5\t881250951\n7\t10\t3\t881250949\n"


def write_ml100k(root: Path, data: str = U_DATA, item: str = U_ITEM, user: str = U_USER) -> Path:
    folder = root / "ml-100k"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(data)
    (folder / "u.item").write_bytes(item.encode("latin-1"))
    (folder / "u.user").write_text(user)
    (folder / "u.genre").write_text(GENRES)
    return folder


USERS_DAT = "1::F::1::10::48067\n2::M::56::16::70072\n"
MOVIES_DAT = (
    "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "5::Cité des enfants perdus, La (1995)::Adventure|Sci-Fi\n"
    "9::Untitled::Drama\n"
)
RATINGS_DAT = "2::5::4::978300760\n1::1::5::978300761\n1::5::3::978300760\n"


def write_ml1m(root: Path, ratings: str = RATINGS_DAT, users: str = USERS_DAT) -> Path:
    folder = root / "ml-1m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(ratings)
    (folder / "movies.dat").write_bytes(MOVIES_DAT.encode("latin-1"))
    (folder / "users.dat").write_text(users)
    return folder


# -- ML-100K ------------------------------------------------------------------------------------
def test_ml100k_tables_vocabularies_and_order(tmp_path: Path) -> None:
    write_ml100k(tmp_path)
    ds = load_movielens("ml-100k", tmp_path, download=False)
    assert ds.name == "ml-100k"
    # Vocabularies: every user / item of the files, in file order (item 40 has no rating).
    assert ds.users.to_list() == [7, 3, 5]
    assert ds.items.to_list() == [10, 20, 30, 40]
    assert ds.n_interactions == 4
    # Interactions in file order, as indices.
    assert ds.users.raw(ds.user_index).tolist() == [3, 7, 5, 7]
    assert ds.items.raw(ds.item_index).tolist() == [10, 30, 10, 10]
    assert ds.ratings.tolist() == [4.0, 1.0, 5.0, 3.0]
    assert ds.timestamps.tolist() == [881250949, 881250950, 881250951, 881250949]

    items = ds.item_table
    assert items.loc[ds.items.index(10), "title"] == "Toy Story"
    assert items.loc[ds.items.index(10), "year"] == 1995
    assert items.loc[ds.items.index(10), "genres"] == ["Animation", "Comedy"]
    assert items.loc[ds.items.index(30), "title"] == "Cité des enfants perdus, La"
    assert items.loc[ds.items.index(40), "genres"] == ["Action", "War"]
    assert pd.isna(items.loc[ds.items.index(20), "year"])
    assert items.loc[ds.items.index(20), "title"] == "unknown"
    assert pd.isna(items.loc[ds.items.index(20), "release_date"])
    assert items.loc[ds.items.index(30), "release_date"] == pd.Timestamp("1995-12-16")
    assert items.loc[ds.items.index(10), "imdb_url"] == "http://imdb/ts"

    users = ds.user_table
    assert users.loc[ds.users.index(5)].to_dict() == {
        "gender": "M",
        "age": 23,
        "occupation": "writer",
        "zip": "T8H1N",
    }
    assert ds.meta["duplicates"] == {"policy": "keep", "count": 0, "dropped": 0}
    expected = hashlib.sha256(U_DATA.encode()).hexdigest()
    assert ds.meta["sha256"]["u.data"] == expected


@pytest.mark.parametrize(
    ("data", "line", "needle"),
    [
        ("3\t10\t4\t1\n7\t30\t1\n", 2, "expected 4"),
        ("3\t10\t4\t1\n7\t30\t1\t5\t9\n", 2, "expected 4"),
        ("3\t10\t4\t1\nseven\t30\t1\t5\n", 2, "user id 'seven' is not an integer"),
        ("3\t10\t4\t1\n7\t3x\t1\t5\n", 2, "item id '3x'"),
        ("3\t10\t4\t1\n7\t30\t1\t5\n5\t10\t6\t7\n", 3, "rating 6 outside 1..5"),
        ("3\t10\t0\t1\n", 1, "rating 0 outside"),
        ("3\t10\t4\t1\n7\t30\t1\t12.5\n", 2, "timestamp '12.5' is not an integer"),
        ("user\titem\trating\ttimestamp\n3\t10\t4\t1\n", 1, "header"),
        ("3\t10\t4\t1\n7\t30\t1\t5\n8\t10\t4\t1\n", 3, "user 8 is not in the user file"),
        ("3\t10\t4\t1\n\n7\t99\t1\t5\n", 3, "item 99 is not in the item file"),
    ],
)
def test_ml100k_malformed_ratings_name_file_and_line(
    tmp_path: Path, data: str, line: int, needle: str
) -> None:
    folder = write_ml100k(tmp_path, data=data)
    with pytest.raises(DataFormatError) as info:
        load_movielens("ml-100k", tmp_path, download=False)
    err = info.value
    assert Path(err.path) == folder / "u.data"
    assert err.line == line
    assert needle in str(err)
    assert f"u.data, line {line}:" in str(err)


def test_ml100k_malformed_item_and_user_files(tmp_path: Path) -> None:
    bad_item = U_ITEM.replace("40|Never Rated (1990)|", "40|Never Rated (1990)|x|")
    folder = write_ml100k(tmp_path, item=bad_item)
    with pytest.raises(DataFormatError) as info:
        load_movielens("ml-100k", tmp_path, download=False)
    assert Path(info.value.path) == folder / "u.item"
    assert info.value.line == 4
    assert "expected 24" in str(info.value)

    write_ml100k(tmp_path, user=U_USER + "3|40|F|artist|11111\n")
    with pytest.raises(DataFormatError) as info:
        load_movielens("ml-100k", tmp_path, download=False)
    assert info.value.line == 4
    assert "user id 3 already defined on line 2" in str(info.value)


@pytest.mark.parametrize(
    ("policy", "n_rows", "ratings", "dropped"),
    [
        ("keep", 5, [4.0, 1.0, 2.0, 5.0, 3.0], 0),
        ("first", 4, [4.0, 1.0, 5.0, 3.0], 1),
        ("last", 4, [1.0, 2.0, 5.0, 3.0], 1),
    ],
)
def test_ml100k_duplicate_policies(
    tmp_path: Path, policy: str, n_rows: int, ratings: list[float], dropped: int
) -> None:
    data = "3\t10\t4\t1\n7\t30\t1\t2\n3\t10\t2\t3\n5\t10\t5\t4\n7\t10\t3\t5\n"
    write_ml100k(tmp_path, data=data)
    ds = load_movielens("ml-100k", tmp_path, download=False, duplicates=policy)  # type: ignore[arg-type]
    assert ds.n_interactions == n_rows
    assert ds.ratings.tolist() == ratings
    assert ds.meta["duplicates"] == {"policy": policy, "count": 1, "dropped": dropped}


def test_ml100k_duplicate_error_names_both_lines(tmp_path: Path) -> None:
    data = "3\t10\t4\t1\n7\t30\t1\t2\n3\t10\t2\t3\n"
    write_ml100k(tmp_path, data=data)
    with pytest.raises(DataFormatError) as info:
        load_movielens("ml-100k", tmp_path, download=False, duplicates="error")
    assert info.value.line == 3
    assert "repeats the pair of line 1" in str(info.value)
    with pytest.raises(ValueError, match="duplicates must be one of"):
        load_movielens("ml-100k", tmp_path, download=False, duplicates="drop")  # type: ignore[arg-type]


# -- ML-1M --------------------------------------------------------------------------------------
def test_ml1m_tables(tmp_path: Path) -> None:
    write_ml1m(tmp_path)
    ds = load_movielens("ml-1m", tmp_path, download=False)
    assert ds.users.to_list() == [1, 2]
    assert ds.items.to_list() == [1, 5, 9]
    assert ds.users.raw(ds.user_index).tolist() == [2, 1, 1]
    assert ds.items.raw(ds.item_index).tolist() == [5, 1, 5]
    assert ds.ratings.tolist() == [4.0, 5.0, 3.0]
    user2 = ds.user_table.loc[ds.users.index(2)].to_dict()
    assert user2 == {
        "gender": "M",
        "age": 56,
        "age_group": "56+",
        "occupation": 16,
        "occupation_name": "self-employed",
        "zip": "70072",
    }
    assert ds.user_table.loc[ds.users.index(1), "occupation_name"] == "K-12 student"
    items = ds.item_table
    assert items.loc[ds.items.index(5), "title"] == "Cité des enfants perdus, La"
    assert items.loc[ds.items.index(5), "genres"] == ["Adventure", "Sci-Fi"]
    assert items.loc[ds.items.index(1), "genres"] == ["Animation", "Children's", "Comedy"]
    assert pd.isna(items.loc[ds.items.index(9), "year"])
    assert "release_date" not in items.columns


@pytest.mark.parametrize(
    ("ratings", "line", "needle"),
    [
        ("2::5::4::978300760\n1::1::5\n", 2, "expected 4 '::'-separated fields"),
        ("2::5::4::978300760\n1::1::5::97830076x\n", 2, "timestamp '97830076x'"),
        ("UserID::MovieID::Rating::Timestamp\n2::5::4::978300760\n", 1, "header"),
        ("2::5::4::978300760\n1::1::5::1\n1::7::5::1\n", 3, "item 7 is not in the item file"),
        ("2::5::4.5::978300760\n1::1::5.5::1\n", 2, "rating 5.5 outside"),
    ],
)
def test_ml1m_malformed_ratings(tmp_path: Path, ratings: str, line: int, needle: str) -> None:
    folder = write_ml1m(tmp_path, ratings=ratings)
    with pytest.raises(DataFormatError) as info:
        load_movielens("ml-1m", tmp_path, download=False)
    assert Path(info.value.path) == folder / "ratings.dat"
    assert info.value.line == line
    assert needle in str(info.value)


def test_ml1m_bad_user_codes(tmp_path: Path) -> None:
    write_ml1m(tmp_path, users=USERS_DAT + "3::F::30::1::12345\n")
    with pytest.raises(DataFormatError, match=r"users.dat, line 3: age code 30"):
        load_movielens("ml-1m", tmp_path, download=False)


# -- data folder and download -------------------------------------------------------------------
def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_ml100k(tmp_path / "env")
    monkeypatch.setenv("SENSOREC_DATA", str(tmp_path / "env"))
    assert dl.resolve_data_dir(None) == tmp_path / "env"
    assert load_movielens("ml-100k", download=False).n_interactions == 4
    assert dl.resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        load_movielens("ml-100k", tmp_path / "arg", download=False)
    monkeypatch.delenv("SENSOREC_DATA")
    assert dl.resolve_data_dir(None).name.lower() == "sensorec"


def _zip_of(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{folder.name}/{path.name}")
    return buf.getvalue()


@pytest.fixture
def ml100k_zip(tmp_path: Path) -> tuple[bytes, dl.ArchiveSource]:
    folder = write_ml100k(tmp_path / "src")
    payload = _zip_of(folder)
    source = dl.ArchiveSource(
        url="",  # set by each test
        folder="ml-100k",
        required=("u.data", "u.item", "u.user"),
        zip_md5=hashlib.md5(payload).hexdigest(),
        file_sha256={"u.data": hashlib.sha256(U_DATA.encode()).hexdigest()},
    )
    return payload, source


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_download_over_http_extracts_and_loads(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ml100k_zip: tuple[bytes, dl.ArchiveSource],
    local_server: tuple[str, Path],
) -> None:
    payload, source = ml100k_zip
    base, root = local_server
    (root / "ml-100k.zip").write_bytes(payload)
    source = dl.ArchiveSource(**{**source.__dict__, "url": f"{base}/ml-100k.zip"})
    monkeypatch.setitem(dl.MOVIELENS_SOURCES, "ml-100k", source)
    data_dir = tmp_path / "data"
    ds = load_movielens("ml-100k", data_dir)
    assert ds.n_interactions == 4 and ds.n_items == 4
    assert (data_dir / "ml-100k" / "u.data").read_text() == U_DATA
    assert sorted(p.name for p in data_dir.iterdir()) == ["ml-100k"]  # no temp leftovers
    # Present now: a second load does not download (the server file is gone).
    (root / "ml-100k.zip").unlink()
    assert load_movielens("ml-100k", data_dir).n_interactions == 4


def test_download_checksum_mismatch_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ml100k_zip: tuple[bytes, dl.ArchiveSource]
) -> None:
    payload, source = ml100k_zip
    zip_path = tmp_path / "ml-100k.zip"
    zip_path.write_bytes(payload)
    data_dir = tmp_path / "data"
    bad_md5 = dl.ArchiveSource(**{**source.__dict__, "url": zip_path.as_uri(), "zip_md5": "0" * 32})
    monkeypatch.setitem(dl.MOVIELENS_SOURCES, "ml-100k", bad_md5)
    with pytest.raises(DatasetNotFoundError) as info:
        load_movielens("ml-100k", data_dir)
    msg = str(info.value)
    assert "MD5" in msg and "SENSOREC_DATA" in msg and "--data-dir" in msg
    assert "u.data, u.item, u.user" in msg
    assert list(data_dir.iterdir()) == []

    bad_sha = dl.ArchiveSource(
        **{**source.__dict__, "url": zip_path.as_uri(), "file_sha256": {"u.data": "f" * 64}}
    )
    monkeypatch.setitem(dl.MOVIELENS_SOURCES, "ml-100k", bad_sha)
    with pytest.raises(DatasetNotFoundError, match=r"u\.data in the zip has SHA-256"):
        load_movielens("ml-100k", data_dir)
    assert list(data_dir.iterdir()) == []

    good = dl.ArchiveSource(**{**source.__dict__, "url": zip_path.as_uri()})
    monkeypatch.setitem(dl.MOVIELENS_SOURCES, "ml-100k", good)
    assert load_movielens("ml-100k", data_dir).n_users == 3


def test_download_failure_and_incomplete_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ml100k_zip: tuple[bytes, dl.ArchiveSource]
) -> None:
    _, source = ml100k_zip
    missing = tmp_path / "nowhere" / "ml-100k.zip"
    monkeypatch.setitem(
        dl.MOVIELENS_SOURCES,
        "ml-100k",
        dl.ArchiveSource(**{**source.__dict__, "url": missing.as_uri()}),
    )
    with pytest.raises(DatasetNotFoundError, match="download failed"):
        load_movielens("ml-100k", tmp_path / "data")
    # An existing but incomplete folder is reported, never overwritten.
    folder = write_ml100k(tmp_path / "data")
    (folder / "u.user").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"lacks u\.user"):
        load_movielens("ml-100k", tmp_path / "data")
    assert (folder / "u.data").exists()


def test_official_sources_are_pinned() -> None:
    for name, src in dl.MOVIELENS_SOURCES.items():
        assert src.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert src.zip_md5 is not None and len(src.zip_md5) == 32
        assert all(len(v) == 64 for v in src.file_sha256.values())


# -- the real data ------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_movielens(shared_data: Path) -> None:
    ds = load_movielens("ml-100k", shared_data, download=False)
    assert (ds.n_users, ds.n_items, ds.n_interactions) == (943, 1682, 100_000)
    assert ds.item_table.loc[ds.items.index(1), "genres"] == ["Animation", "Children's", "Comedy"]
    assert ds.item_table.loc[ds.items.index(1), "title"] == "Toy Story"
    split = leave_one_out(ds)
    assert split.test.n_interactions == 943 and split.valid.n_interactions == 943
    # Tie-breaking: an independent pandas stable sort gives the same last interaction.
    frame = ds.interactions.sort_values(["user", "timestamp"], kind="stable")
    last = frame.groupby("user").tail(1)
    got = split.test.interactions.sort_values("user")
    assert np.array_equal(last.sort_values("user")["item"].to_numpy(), got["item"].to_numpy())
    last_two = frame.groupby("user").tail(2).groupby("user")["timestamp"].nunique()
    assert int((last_two == 1).sum()) == 415

    ml1m = load_movielens("ml-1m", shared_data / "ml-1m-partial", download=False)
    assert ml1m.n_users == 6040
    assert ml1m.n_interactions == 890_265
    assert ml1m.n_items == 3883
    assert ml1m.item_table.loc[ml1m.items.index(1), "genres"] == [
        "Animation",
        "Children's",
        "Comedy",
    ]
