"""The hostile-file corpus, generated at test time from one real face: each file is uploaded
through POST /api/subjects (and decoded directly), and each must get a clear decision (enrolled,
or refused with a one-line reason), never a server error; the row counts then prove that a
refused file left nothing behind and an enrolled one exactly one image row (nothing half-written).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openlfr.errors import ImageRejected
from openlfr.vision.images import read_image_bytes
from tests.attack.conftest import World, table_counts

FACE = ("lfw", "images", "AJ_Cook", "AJ_Cook_0001.jpg")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_bomb(side: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def corpus(face_jpeg: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected: "enrolled", "refused" or "either")."""
    face = Image.open(io.BytesIO(face_jpeg)).convert("RGB")
    grey16 = Image.fromarray(np.asarray(face.convert("L"), np.uint16) * 257).convert("I;16")
    frames = [face, face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    anim = io.BytesIO()
    frames[0].save(anim, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><script>alert(1)'
        b"</script><circle r='4'/></svg>"
    )
    return {
        "zero-byte.jpg": (b"", "refused"),
        "truncated.jpg": (face_jpeg[: len(face_jpeg) // 3], "refused"),
        "header-bomb.png": (_png_header_bomb(40_000), "refused"),
        "pixel-bomb.png": (_save(Image.new("1", (9000, 9000)), "PNG"), "refused"),
        "text-as.jpg": (b"custody note: not a photograph\n" * 20, "refused"),
        "svg-script.svg": (svg, "refused"),
        "html-polyglot.jpg": (b"GIF89a/*<html><script>alert(1)</script>*/" + b"\0" * 64, "refused"),
        # A real JPEG with a ZIP and a script appended: decodes as the picture it is.
        "jpeg-zip-polyglot.jpg": (face_jpeg + b"PK\x03\x04" + b"<script>x</script>" * 8, "either"),
        "cmyk.jpg": (_save(face.convert("CMYK"), "JPEG", quality=95), "either"),
        "grey16.png": (_save(grey16, "PNG"), "either"),
        "animated.gif": (anim.getvalue(), "either"),
        "face.webp": (_save(face, "WEBP", quality=90), "either"),
        "tiny-1x1.png": (_save(Image.new("RGB", (1, 1)), "PNG"), "refused"),
        "\u202egpj.exe": (face_jpeg, "either"),  # a right-to-left override in the name
        "../../../etc/passwd": (b"root:x:0:0", "refused"),
        "Zoë 李 名前.jpg": (face_jpeg, "either"),
    }


@pytest.fixture
def face_jpeg(shared_data: Path) -> bytes:
    return shared_data.joinpath(*FACE).read_bytes()


def test_every_hostile_file_decodes_or_is_refused_cleanly(face_jpeg: bytes) -> None:
    for name, (data, expected) in corpus(face_jpeg).items():
        try:
            image = read_image_bytes(data, name)
        except ImageRejected as exc:
            assert "\n" not in exc.reason and exc.reason, name
            continue
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
        assert expected != "refused" or name == "tiny-1x1.png", f"{name} decoded but is hostile"


def test_hostile_uploads_get_one_clear_decision_each_and_nothing_half_written(
    world: World, face_jpeg: bytes
) -> None:
    files = list(corpus(face_jpeg).items())
    before = table_counts(world.store)
    enrolled_ids: set[int] = set()
    decisions: dict[str, dict[str, object]] = {}
    for start in range(0, len(files), 6):  # the route takes at most six images at a time
        batch = files[start : start + 6]
        r = world.client.post(
            "/api/subjects",
            data={
                "reference": "SUBJ-HOSTILE",
                "category": "suspect",
                "source_ref": "CUST-H",
                "case_outcome": "charged",
                "age_at_capture": "30",
            },
            files=[
                ("images", (name, data, "application/octet-stream")) for name, (data, _) in batch
            ],
            headers=world.identity("supervisor"),
        )
        assert r.status_code == 200, (batch[0][0], r.status_code, r.text[:500])
        got = r.json()["images"]
        assert len(got) == len(batch)
        for (name, (_, expected)), decision in zip(batch, got, strict=True):
            decisions[name] = decision
            assert decision["status"] in ("enrolled", "refused"), decision
            if expected != "either":
                assert decision["status"] == expected, (name, decision)
            if decision["status"] == "refused":
                reason = str(decision["reason"])
                assert reason and "\n" not in reason and "Traceback" not in reason, decision
            else:
                enrolled_ids.add(int(decision["image_id"]))  # type: ignore[call-overload]
    after = table_counts(world.store)
    # Exactly one image row per distinct enrolled image, one subject if any was enrolled.
    assert after["reference_images"] - before["reference_images"] == len(enrolled_ids)
    assert after["subjects"] - before["subjects"] == (1 if enrolled_ids else 0)
    assert enrolled_ids, "not even the plain face was enrolled: the corpus proves nothing"
    # Each refusal is in the audit log (collection_refused), each enrolment a collection.
    refused = sum(1 for d in decisions.values() if d["status"] == "refused")
    assert after["audit_log"] - before["audit_log"] >= refused + len(enrolled_ids)
    assert all(k in before for k in after), "a table appeared during the uploads"
