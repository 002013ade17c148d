"""arXiv ids in every form people paste, and file names that cannot leave corpus/pdf."""

from __future__ import annotations

import pytest

from digest.ids import ArxivId, InvalidId, id_from_filename, parse_id


@pytest.mark.parametrize(
    ("text", "base", "version"),
    [
        ("2302.13971", "2302.13971", None),
        ("2302.13971v1", "2302.13971", 1),
        ("arXiv:2302.13971", "2302.13971", None),
        ("ARXIV: 2302.13971v3", "2302.13971", 3),
        ("  2302.13971\n", "2302.13971", None),
        ("https://arxiv.org/abs/2302.13971", "2302.13971", None),
        ("https://arxiv.org/pdf/2302.13971v2.pdf", "2302.13971", 2),
        ("https://arxiv.org/pdf/2302.13971v2", "2302.13971", 2),
        ("http://export.arxiv.org/abs/2302.13971/", "2302.13971", None),
        ("https://www.arxiv.org/html/2302.13971v2", "2302.13971", 2),
        ("arxiv.org/abs/2302.13971", "2302.13971", None),
        ("https://arxiv.org/abs/2302.13971?context=cs.CL", "2302.13971", None),
        ("https://arxiv.org/abs/2302.13971v2#S3", "2302.13971", 2),
        ("0704.0001", "0704.0001", None),
        ("1409.0473v7", "1409.0473", 7),
        ("hep-th/9901001", "hep-th/9901001", None),
        ("HEP-TH/9901001v2", "hep-th/9901001", 2),
        ("math.gt/0309136", "math.GT/0309136", None),
        ("https://arxiv.org/pdf/hep-th/9901001v1.pdf", "hep-th/9901001", 1),
    ],
)
def test_parse_id(text, base, version):
    aid = parse_id(text)
    assert (aid.base, aid.version) == (base, version)
    assert str(aid) == (f"{base}v{version}" if version else base)


@pytest.mark.parametrize(
    "text",
    ["", "arXiv:", "llama", "2302.1397", "2302.139711", "1412.12345", "2313.12345", "0000.0000", "2302.13971v",
     "2302.13971vx", "hep-th/990100", "../../etc/passwd", "hep-th/../../x", "2302.13971/../../x",
     "https://example.org/abs/2302.13971", "2302.13971 2401.04088"],
)
def test_not_an_id(text):
    with pytest.raises(InvalidId, match="is not an arXiv id"):
        parse_id(text)


@pytest.mark.parametrize(
    ("text", "filename"),
    [("2302.13971v2", "2302.13971"), ("hep-th/9901001v1", "hep-th_9901001"), ("math.GT/0309136", "math.GT_0309136")],
)
def test_filename_stays_in_its_folder(text, filename):
    assert parse_id(text).filename == filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2302.13971v2.pdf", ArxivId("2302.13971", 2)),
        ("1910.10683v4.pdf", ArxivId("1910.10683", 4)),
        ("arXiv-2401.04088.pdf", ArxivId("2401.04088")),
        ("hep-th_9901001.pdf", ArxivId("hep-th/9901001")),
        ("math.GT_0309136v1.pdf", ArxivId("math.GT/0309136", 1)),
        ("draft 2313.12345 then 2302.13971.pdf", ArxivId("2302.13971")),
        ("Attention is all you need.pdf", None),
        ("paper_2023.pdf", None),
        ("12302.13971.pdf", None),
    ],
)
def test_id_from_filename(name, expected):
    assert id_from_filename(name) == expected
