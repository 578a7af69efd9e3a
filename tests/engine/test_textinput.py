from pathlib import Path

import pytest

from engine.textinput import InputDecodeError, prepare_items, read_text_file


def test_one_item_per_non_blank_line() -> None:
    prepared = prepare_items("  first \n\n   \nsecond\r\nthird", 100)
    assert prepared.items == ("first", "second", "third")
    assert prepared.empty_lines == 2
    assert prepared.notice == ""


def test_blank_paste_gives_no_items() -> None:
    assert prepare_items(" \n\t\n", 100).items == ()


def test_megabyte_paste_is_cut_per_item_with_notice() -> None:
    raw = ("x" * 600_000) + "\nshort headline\n" + ("y" * 500_000)
    prepared = prepare_items(raw, 2000)
    assert [len(i) for i in prepared.items] == [2000, 14, 2000]
    assert prepared.truncated == (True, False, True)
    assert prepared.cut_items == 2
    assert "2 items longer than 2,000 characters were cut" in prepared.notice


def test_utf8_with_bom_reads(tmp_path: Path) -> None:
    path = tmp_path / "news.txt"
    path.write_bytes("\ufeffÉtats-Unis: $SPY up\n".encode("utf-8"))
    assert read_text_file(path) == "États-Unis: $SPY up\n"


def test_undecodable_bytes_give_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good line\nsecond\n\xff\xfe bad bytes\n")
    with pytest.raises(InputDecodeError) as info:
        read_text_file(path)
    message = str(info.value)
    assert "bad.txt" in message and "line 3" in message and "UTF-8" in message
