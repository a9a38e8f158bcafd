"""MovieLens content: text from title/year/genres/plots, posters and trailers by id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sensorec.content import NO_CONTENT, movielens_content, read_id_map, read_plots
from sensorec.content.movielens import NO_ID_MAPPING, NOT_FOUND
from sensorec.data.dataset import build_dataset
from sensorec.data.errors import DataFormatError


def tiny_movielens(name: str = "ml-100k"):
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 3], "rating": [5.0, 3.0, 4.0]})
    items = pd.DataFrame(
        {
            "title": ["Toy Story (1995)", "GoldenEye", "Four Rooms (1995)", "Mystery"],
            "year": [1995, 1995, np.nan, np.nan],
            "genres": [
                ["Animation", "Children's", "Comedy"],
                "Action|Adventure|Thriller",
                ["unknown"],
                [],
            ],
        },
        index=pd.Index([1, 2, 3, 4]),
    )
    return build_dataset(name, frame, item_table=items, item_ids=[1, 2, 3, 4])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_text_from_title_year_and_genres():
    m = movielens_content(tiny_movielens())
    assert m.item_ids == [1, 2, 3, 4]
    assert m[1].text == "Toy Story (1995). Genres: Animation, Children's, Comedy."
    assert m[2].text == "GoldenEye (1995). Genres: Action, Adventure, Thriller."
    assert m[3].text == "Four Rooms (1995)."  # the placeholder genre "unknown" is dropped
    assert m[4].text == "Mystery."
    assert m[1].image is None and m[1].missing_reason("image") == NO_CONTENT


def test_plots_are_appended_and_placeholders_skipped(tmp_path):
    plots = write(
        tmp_path / "details.csv",
        "movie_genres,movie_id,movie_title,description\n"
        '"[1]",1,Toy Story,"A cowboy doll is threatened\nby a new spaceman."\n'
        '"[2]",3,Four Rooms,"It looks like we don\'t have any Plot Summaries for this title yet.\n'
        'Be the first to contribute!"\n'
        '"[3]",99,Other,Not in the dataset\n',
    )
    text, placeholders = read_plots(plots)
    assert text == {1: "A cowboy doll is threatened by a new spaceman.", 99: "Not in the dataset"}
    assert placeholders == 1
    m = movielens_content(tiny_movielens(), plots=plots)
    assert m[1].text == (
        "Toy Story (1995). Genres: Animation, Children's, Comedy. "
        "A cowboy doll is threatened by a new spaceman."
    )
    assert m[3].text == "Four Rooms (1995)."
    assert m.meta["plots"]["with_plot"] == 1
    assert m.meta["plots"]["placeholder_skipped"] == 1


def test_plots_file_errors(tmp_path):
    with pytest.raises(DataFormatError, match="need an id column"):
        read_plots(write(tmp_path / "a.csv", "id,words\n1,x\n"))
    with pytest.raises(DataFormatError) as err:
        read_plots(write(tmp_path / "b.csv", "movie_id,description\n1,x\n2,y,z\n"))
    assert err.value.line == 3


def test_posters_and_trailers_through_the_id_map(tmp_path):
    posters = tmp_path / "posters"
    for movielens_id in (1, 10, 58):
        write(posters / f"{movielens_id}.jpg", "x")
    write(posters / "readme.txt", "ignored")
    trailers = tmp_path / "trailers"
    write(trailers / "10.mp4", "x")
    id_map = write(
        tmp_path / "map.csv",
        "ml100k_item_id,ml100k_title,ml1m_movie_id_by_title,title_match,imdb_id_from_imdb_scrape,"
        "movielens_id_via_imdb_links\n"
        "1,Toy Story (1995),1,exact_title,tt0114709,1\n"
        "2,GoldenEye (1995),10,exact_title,tt0113189,999\n"  # title id wins over the IMDb one
        "3,Four Rooms (1995),,,tt0110877,58\n"  # no title match: the IMDb-derived id is used
        "4,Mystery,,,,\n",
    )
    assert read_id_map(id_map) == {1: 1, 2: 10, 3: 58}
    m = movielens_content(
        tiny_movielens(), posters_dir=posters, poster_id_map=id_map, trailers_dir=trailers
    )
    assert m[1].image == str((posters / "1.jpg").resolve())
    assert m[2].image == str((posters / "10.jpg").resolve())
    assert m[3].image == str((posters / "58.jpg").resolve())
    assert m[4].image is None and m[4].missing_reason("image") == NO_ID_MAPPING
    assert m[2].video == str((trailers / "10.mp4").resolve())
    assert m[1].missing_reason("video") == NOT_FOUND
    assert m.meta["image"] == {"folder": str(posters), "found": 3, NO_ID_MAPPING: 1}
    assert m.meta["video"]["found"] == 1


def test_posters_without_id_map_use_item_ids(tmp_path):
    posters = tmp_path / "posters"
    write(posters / "2.png", "x")
    m = movielens_content(tiny_movielens("ml-1m"), posters_dir=posters)
    assert m[2].image == str((posters / "2.png").resolve())
    assert m.missing_counts("image") == {NOT_FOUND: 3}


def test_generic_two_column_id_map(tmp_path):
    path = write(tmp_path / "m.csv", "source,target\n1,5\n2,\n3,7\n")
    assert read_id_map(path) == {1: 5, 3: 7}
    with pytest.raises(DataFormatError, match="mapped twice"):
        read_id_map(write(tmp_path / "dup.csv", "a,b\n1,5\n1,6\n"))


def test_dataset_without_titles_is_refused():
    frame = pd.DataFrame({"user_id": [1], "item_id": [1]})
    with pytest.raises(ValueError, match="no item table with a 'title' column"):
        movielens_content(build_dataset("x", frame))


def test_real_movielens_content_files(shared_data):
    """The shared ML-100K plot scrape and id map read as documented in its README."""
    content = shared_data / "movielens-content"
    plots, placeholders = read_plots(content / "ml100k_imdb_details" / "movielens100k_details.csv")
    assert len(plots) + placeholders == 1591
    assert placeholders == 51
    assert plots[511].startswith("The story of T.E. Lawrence")
    id_map = read_id_map(content / "id_maps" / "ml100k_to_movielens_id.csv")
    assert id_map[1] == 1 and id_map[2] == 10
    assert id_map[14] == 58  # "Postino, Il": no title match, IMDb-derived id
    assert 50 not in id_map  # Star Wars: neither source gives an ML-1M id
    posters = content / "ml1m_posters"
    have = sum(1 for target in id_map.values() if (posters / f"{target}.jpg").exists())
    assert have > 1500
