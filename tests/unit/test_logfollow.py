"""LogFollower (tail -f in bounded reads) and the log search."""

from __future__ import annotations

import os

from llmops_tui.logfollow import LogFollower, find_matches


def test_backlog_then_appends_and_partial_lines(tmp_path):
    path = tmp_path / "engine.log"
    f = LogFollower(path, backlog=3)
    assert f.read_new() == []  # not there yet
    path.write_text("".join(f"line {i}\n" for i in range(10)))
    assert f.read_new() == ["line 7", "line 8", "line 9"]
    assert f.read_new() == []
    with path.open("a") as out:
        out.write("line 10\nhalf")
    assert f.read_new() == ["line 10"]  # "half" waits for its newline
    with path.open("a") as out:
        out.write(" done\r\n")
    assert f.read_new() == ["half done"]


def test_truncated_or_replaced_file_starts_over(tmp_path):
    path = tmp_path / "engine.log"
    path.write_text("old 1\nold 2\n")
    f = LogFollower(path)
    assert f.read_new() == ["old 1", "old 2"]
    path.write_text("new\n")  # truncated in place
    assert f.read_new() == ["new"]
    other = tmp_path / "other.log"
    other.write_text("fresh 1\nfresh 2 is a longer line than before\n")
    os.replace(other, path)  # a new file (new inode)
    assert f.read_new() == ["fresh 1", "fresh 2 is a longer line than before"]


def test_a_burst_is_read_in_bounded_chunks(tmp_path):
    path = tmp_path / "engine.log"
    path.write_text("")
    f = LogFollower(path)
    assert f.read_new() == []
    path.write_text("".join(f"{i:09d}\n" for i in range(1000)))  # 10,000 bytes
    got: list[str] = []
    reads = 0
    while len(got) < 1000:
        got += f.read_new(max_bytes=1024)
        reads += 1
    assert got == [f"{i:09d}" for i in range(1000)]
    assert reads >= 10


def test_backlog_of_a_big_file_drops_the_cut_first_line(tmp_path):
    path = tmp_path / "engine.log"
    path.write_text("".join(f"{'x' * 90} {i}\n" for i in range(5000)))
    lines = LogFollower(path, backlog=10).read_new()
    assert lines == [f"{'x' * 90} {i}" for i in range(4990, 5000)]


def test_find_matches_is_smart_case():
    lines = ["INFO ready", "ERROR CUDA out of memory", "error: cuda"]
    assert find_matches(lines, "cuda") == [1, 2]
    assert find_matches(lines, "CUDA") == [1]
    assert find_matches(lines, "") == []
