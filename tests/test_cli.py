"""The `clariant selfcheck` command (the main job until the validation report lands)."""

import struct

import pytest

from clariant import cli, selfcheck


def test_selfcheck_writes_report(tmp_path, capsys):
    assert cli.main(["selfcheck", "--out", str(tmp_path), "--rapidities", "0,3", "--max-label", "1"]) == 0
    index = tmp_path / "index.html"
    png = tmp_path / "group_precision.png"
    assert index.exists() and png.exists()
    with png.open("rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width > 500 and height > 200
    page = index.read_text(encoding="utf-8")
    assert 'src="group_precision.png"' in page
    rows = selfcheck.measure(rapidities=(3.0,), max_label=1)
    # the table holds the measured numbers (deterministic inputs → identical values)
    assert f"{rows[-1].cg_error:.3g}" in page
    assert "report:" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["a,b", "1,nan", "-1", "25"])
def test_selfcheck_rejects_bad_rapidities(bad, capsys):
    with pytest.raises(SystemExit):
        cli.main(["selfcheck", "--rapidities", bad])
    assert "rapidities" in capsys.readouterr().err
