"""The journal: what it holds survives the process, is read back once, and is private to its user."""

from __future__ import annotations

import datetime as dt
import json
import stat

from bot.storage.journal import Journal, purge_segments


def line(n: int) -> bytes:
    return json.dumps({"n": n}).encode() + b"\n"


def drain(journal: Journal) -> list[bytes]:
    out = []
    while (batch := journal.next_batch()) is not None:
        out.extend(batch.lines)
        if batch.torn:
            out.append(b"TORN:" + batch.torn)
        journal.consumed(batch)
    return out


def test_lines_are_read_back_once_and_the_file_emptied(tmp_path):
    j = Journal(tmp_path / "journal")
    for n in range(3):
        j.append(line(n))
    assert j.waiting == 3
    assert drain(j) == [line(n).rstrip() for n in range(3)]
    assert j.waiting == 0 and j.next_batch() is None
    [segment] = (tmp_path / "journal").glob("*.jsonl")
    assert segment.stat().st_size == 0  # emptied, not grown forever
    j.append(line(9))
    assert drain(j) == [line(9).rstrip()]
    j.close()
    assert list((tmp_path / "journal").iterdir()) == []


def test_big_journals_rotate_and_stored_segments_are_deleted(tmp_path):
    j = Journal(tmp_path / "journal", rotate_bytes=50)
    for n in range(20):
        j.append(line(n))
    assert len(list((tmp_path / "journal").glob("*.jsonl"))) > 3
    assert drain(j) == [line(n).rstrip() for n in range(20)]
    assert len(list((tmp_path / "journal").glob("*.jsonl"))) == 1
    j.close()


def test_segments_of_a_dead_process_are_adopted_not_those_of_a_live_one(tmp_path):
    live = Journal(tmp_path / "journal")
    live.append(line(1))
    dead = Journal(tmp_path / "journal")
    dead.append(line(2))
    dead.close()  # its records were not stored: the file stays, unlocked, as after kill -9
    newcomer = Journal(tmp_path / "journal")
    assert newcomer.waiting == 1  # the dead one's record; the live one's segment is locked
    assert drain(newcomer) == [line(2).rstrip()]
    assert drain(live) == [line(1).rstrip()]
    newcomer.close()
    live.close()
    assert list((tmp_path / "journal").iterdir()) == []


def test_an_unfinished_last_line_is_handed_over_apart(tmp_path):
    directory = tmp_path / "journal"
    directory.mkdir()
    (directory / "0000000000001-1-dead.jsonl").write_bytes(line(1) + b'{"n": 2, "te')  # power cut mid-write
    j = Journal(directory)
    assert j.waiting == 2
    assert drain(j) == [line(1).rstrip(), b'TORN:{"n": 2, "te']
    j.close()


def test_an_older_versions_spill_file_is_replayed(tmp_path):
    spill = tmp_path / "pending-records.jsonl"
    spill.write_bytes(line(1) + line(2))
    spill.chmod(0o644)
    j = Journal(tmp_path / "journal", legacy_spill=spill)
    assert not spill.exists()
    assert drain(j) == [line(1).rstrip(), line(2).rstrip()]
    j.close()


def test_journal_files_are_private(tmp_path):
    j = Journal(tmp_path / "journal", rotate_bytes=30)
    for n in range(4):
        j.append(line(n))
    assert stat.S_IMODE((tmp_path / "journal").stat().st_mode) == 0o700
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "journal").iterdir()}
    assert modes == {0o600}
    j.close()


def test_purge_drops_old_records_of_dead_processes_only(tmp_path):
    old, new = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    def time_of(raw: bytes) -> dt.datetime | None:
        return old if json.loads(raw)["n"] < 10 else new

    dead = Journal(tmp_path / "journal")
    for n in (1, 2, 11):
        dead.append(line(n))
    dead.close()
    live = Journal(tmp_path / "journal")  # adopts the dead one's segment and holds it
    assert purge_segments(tmp_path / "journal", dt.datetime(2025, 1, 1, tzinfo=dt.UTC), time_of) == (0, 2)
    live.close()
    assert purge_segments(tmp_path / "journal", dt.datetime(2025, 1, 1, tzinfo=dt.UTC), time_of) == (2, 0)
    assert drain(Journal(tmp_path / "journal")) == [line(11).rstrip()]
