"""ContentManifest: CSV and folder readers, errors with file and line, URL downloads."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from sensorec.content import (
    DOWNLOAD_FAILED,
    EMPTY_TEXT,
    NO_CONTENT,
    ContentManifest,
    ItemContent,
    compose_text,
)
from sensorec.data.errors import DataFormatError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_compose_text_adds_full_stops_and_skips_empty_fields():
    assert compose_text(["Toy Story (1995)", "", None, "Genres: Animation,  Comedy"]) == (
        "Toy Story (1995). Genres: Animation, Comedy."
    )
    assert compose_text(["Why?", "  multi\n line  "]) == "Why? multi line."
    assert compose_text([None, " "]) == ""


def test_from_csv_resolves_relative_paths_and_keeps_urls(tmp_path):
    csv = write(
        tmp_path / "meta" / "content.csv",
        "item_id,text,image,audio,video\n"
        '1,"A film, with a comma",posters/1.jpg,,/abs/1.mp4\n'
        "2,,https://example.org/2.png,sounds/2.wav,\n"
        "10,Third,,,\n",
    )
    m = ContentManifest.from_csv(csv)
    assert m.item_ids == [1, 2, 10]  # all-integer ids become ints
    one = m[1]
    assert one.text == "A film, with a comma"
    assert one.image == str(tmp_path / "meta" / "posters" / "1.jpg")
    assert one.video == "/abs/1.mp4"
    assert one.audio is None and one.missing_reason("audio") == NO_CONTENT
    two = m[2]
    assert two.text is None and two.missing_reason("text") == NO_CONTENT
    assert two.image == "https://example.org/2.png"
    assert two.audio == str(tmp_path / "meta" / "sounds" / "2.wav")
    assert m.coverage() == {"text": 2, "image": 2, "audio": 1, "video": 1}
    assert m.missing_counts("video") == {NO_CONTENT: 2}


def test_from_csv_string_ids_and_subset_of_columns(tmp_path):
    csv = write(tmp_path / "c.csv", "item_id,text\nb12,hello\n007,world\n")
    m = ContentManifest.from_csv(csv)
    assert m.item_ids == ["b12", "007"]  # "007" is not a plain integer: all stay str
    assert "007" in m and 7 not in m
    assert m["b12"].image is None
    m_str = ContentManifest.from_csv(
        write(tmp_path / "d.csv", "item_id,text\n1,a\n2,b\n"), id_type="str"
    )
    assert m_str.item_ids == ["1", "2"]


def test_from_csv_text_columns_compose_fields(tmp_path):
    csv = write(
        tmp_path / "c.csv",
        "item_id,title,plot,image\n1,Heat (1995),A cop hunts a thief,\n2,Up (2009),,\n",
    )
    m = ContentManifest.from_csv(csv, text_columns=["title", "plot"])
    assert m[1].text == "Heat (1995). A cop hunts a thief."
    assert m[2].text == "Up (2009)."


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("item_id,text\n1,a\n2,b,extra\n", 3, "expected 2 fields"),
        ("item_id,text\n1,a\n\n1,b\n", 4, "duplicate item_id '1' (first on line 2)"),
        ("item_id,text\n1,a\n,b\n", 3, "empty item_id"),
        ("id,text\n1,a\n", 1, "no 'item_id' column"),
        ("item_id,imgae\n1,a.jpg\n", 1, "unknown columns ['imgae']"),
        ('item_id,text\n1,"multi\nline"\n2,"unterminated\n', 4, "bad CSV"),
        ("", 1, "empty file"),
    ],
)
def test_from_csv_malformed_names_file_and_line(tmp_path, body, line, fragment):
    csv = write(tmp_path / "bad.csv", body)
    with pytest.raises(DataFormatError) as err:
        ContentManifest.from_csv(csv)
    assert err.value.line == line
    assert fragment in str(err.value)
    assert str(csv) in str(err.value)


def test_from_csv_line_numbers_count_multiline_fields(tmp_path):
    csv = write(tmp_path / "c.csv", 'item_id,text\n1,"two\nlines"\n2,x,y\n')
    with pytest.raises(DataFormatError) as err:
        ContentManifest.from_csv(csv)
    assert err.value.line == 4


def test_from_csv_bad_encoding_reports_line(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"item_id,text\n1,ok\n2,caf\xe9\n")
    with pytest.raises(DataFormatError) as err:
        ContentManifest.from_csv(path)
    assert err.value.line == 3 and "utf-8" in str(err.value)


def test_from_folder_layout(tmp_path, caplog):
    root = tmp_path / "content"
    write(root / "text" / "2.txt", "Second item")
    write(root / "text" / "10.txt", "Tenth item")
    write(root / "text" / "3.txt", "   \n")
    write(root / "image" / "2.png", "not really a png")
    write(root / "image" / "notes.md", "ignored")
    write(root / "audio" / "10.wav", "x")
    write(root / "video" / ".hidden.mp4", "x")
    m = ContentManifest.from_folder(root)
    assert m.item_ids == [2, 3, 10]  # numeric order, not "10" < "2"
    assert m[2].text == "Second item"
    assert m[2].image == str((root / "image" / "2.png").resolve())
    assert m[10].audio == str((root / "audio" / "10.wav").resolve())
    assert m[3].text is None and m[3].missing_reason("text") == EMPTY_TEXT
    assert m[10].missing_reason("image") == NO_CONTENT
    assert "skipped 1 file" in caplog.text


def test_from_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        ContentManifest.from_folder(tmp_path / "absent")
    write(tmp_path / "empty" / "other" / "x.txt", "x")
    with pytest.raises(FileNotFoundError, match="none of the sub-folders"):
        ContentManifest.from_folder(tmp_path / "empty")
    write(tmp_path / "dup" / "image" / "1.jpg", "a")
    write(tmp_path / "dup" / "image" / "1.png", "b")
    with pytest.raises(DataFormatError, match="two image files for item '1'"):
        ContentManifest.from_folder(tmp_path / "dup")


def test_from_path_dispatches_and_to_csv_round_trips(tmp_path):
    root = tmp_path / "content"
    write(root / "text" / "a.txt", "Alpha, with comma")
    write(root / "image" / "b.jpg", "x")
    m = ContentManifest.from_path(root)
    out = tmp_path / "manifest.csv"
    m.to_csv(out)
    back = ContentManifest.from_path(out)
    assert back.item_ids == ["a", "b"]
    assert [(it.text, it.image) for it in back] == [(it.text, it.image) for it in m]


def test_constructor_rejects_duplicates_and_bad_ids():
    with pytest.raises(ValueError, match="duplicate item id 1"):
        ContentManifest([ItemContent(1, text="a"), ItemContent(1, text="b")])
    with pytest.raises(TypeError, match="int or str"):
        ContentManifest([ItemContent(1.0, text="a")])  # type: ignore[arg-type]


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        if self.path == "/ok.jpg":
            body = b"image bytes"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def http_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_downloads_to_cache_and_records_failures(tmp_path, http_server):
    m = ContentManifest(
        [
            ItemContent(1, text="one", image=f"{http_server}/ok.jpg"),
            ItemContent(2, text="two", image=f"{http_server}/gone.jpg"),
            ItemContent(3, text="three", image=str(tmp_path / "local.jpg")),
        ]
    )
    assert [u[0] for u in m.urls()] == [1, 2]
    fetched = m.fetch(tmp_path / "cache", progress=False)
    assert Path(fetched[1].image).read_bytes() == b"image bytes"
    assert Path(fetched[1].image).parent == (tmp_path / "cache").resolve()
    assert fetched[2].image is None
    assert fetched[2].missing_reason("image") == DOWNLOAD_FAILED
    assert "2/image" in fetched.meta["download_failures"]
    assert fetched[3].image == str(tmp_path / "local.jpg")
    assert m[1].image.startswith("http")  # the original is unchanged
    assert not list((tmp_path / "cache").glob(".download-*"))  # no half files left
    # a second fetch uses the cache for the file it has
    _Handler.hits = []
    again = m.fetch(tmp_path / "cache", progress=False)
    assert again[1].image == fetched[1].image
    assert _Handler.hits == ["/gone.jpg"]
