"""The Python package: numpy round trips, Pillow, errors as exceptions, threads, and the same
bytes as the command line."""
import io
import os
import subprocess
import threading

import numpy as np
import pytest
from PIL import Image

import vaec_gpu
import vaec_gpu.pillow  # noqa: F401  (registers the format)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CROP = os.path.join(ROOT, "tests", "data_crop.png")
# the command line to compare with: VAEC_CLI, else a build in target/ (cargo test builds one)
CLI = os.environ.get("VAEC_CLI") or next(
    (p for p in (os.path.join(ROOT, "target", d, "vaec-gpu") for d in ("release", "debug")) if os.path.exists(p)),
    "vaec-gpu")


def crop():
    return np.asarray(Image.open(CROP).convert("RGB"))


def test_zeros_round_trip_has_the_right_shape():
    a = np.zeros((64, 96, 3), np.uint8)
    out = vaec_gpu.decode(vaec_gpu.encode(a))
    assert out.shape == (64, 96, 3) and out.dtype == np.uint8


def test_a_photo_crop_round_trips_close_to_the_original():
    a = crop()
    data = vaec_gpu.encode(a, quality=8)
    out = vaec_gpu.decode(data)
    mse = np.mean((out.astype(float) - a.astype(float)) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 25
    header = vaec_gpu.info(data)
    assert (header["width"], header["height"], header["quality"]) == (64, 64, 8.0)
    assert header["model"] == vaec_gpu.models()[0]


def test_strided_arrays_are_accepted():
    a = np.ascontiguousarray(crop()[:, ::-1])[:, ::-1]  # a view with negative strides
    assert vaec_gpu.encode(a) == vaec_gpu.encode(np.ascontiguousarray(a))


def test_pillow_reads_and_writes_vaec(tmp_path):
    assert ".vaec" in Image.registered_extensions()
    path = tmp_path / "crop.vaec"
    Image.open(CROP).save(path, quality=4)
    im = Image.open(path)
    assert im.format == "VAEC" and im.size == (64, 64) and im.mode == "RGB"
    assert np.array_equal(np.asarray(im), vaec_gpu.decode(path.read_bytes()))


def test_bytes_equal_the_command_line_and_pillow_opens_its_files(tmp_path):
    out = tmp_path / "cli.vaec"
    subprocess.run([CLI, "encode", CROP, "-o", str(out), "--quality", "5"], check=True, capture_output=True)
    assert vaec_gpu.encode(crop(), quality=5) == out.read_bytes()
    assert np.array_equal(np.asarray(Image.open(out)), vaec_gpu.decode(out.read_bytes()))


@pytest.mark.parametrize("data", [b"", b"VAEC", b"not a vaec file at all", bytes(range(256)) * 8])
def test_hostile_bytes_raise_vaec_errors(data):
    with pytest.raises(vaec_gpu.VaecError):
        vaec_gpu.decode(data)
    with pytest.raises(vaec_gpu.FormatError):
        vaec_gpu.info(data)


def test_a_truncated_file_raises_format_error():
    data = vaec_gpu.encode(crop())
    for cut in (10, len(data) // 2, len(data) - 1):
        with pytest.raises(vaec_gpu.FormatError):
            vaec_gpu.decode(data[:cut])


def cut_out():
    """The crop with a disc of alpha (soft edge), transparent outside."""
    y, x = np.mgrid[0:64, 0:64]
    alpha = np.clip((24 - np.hypot(x - 32, y - 30)) * 64, 0, 255).astype(np.uint8)
    return np.dstack([crop(), alpha])


def test_alpha_and_gray_come_back_in_their_layout():
    rgba = cut_out()
    out = vaec_gpu.decode(vaec_gpu.encode(rgba))
    assert out.shape == (64, 64, 4) and np.array_equal(out[..., 3], rgba[..., 3])
    gray = rgba[..., 0]
    assert vaec_gpu.decode(vaec_gpu.encode(gray)).shape == (64, 64)
    la = vaec_gpu.decode(vaec_gpu.encode(np.dstack([gray, rgba[..., 3]])))
    assert la.shape == (64, 64, 2) and np.array_equal(la[..., 1], rgba[..., 3])
    # the colour nobody sees is filled unless exact, and that saves bits
    assert len(vaec_gpu.encode(rgba)) < len(vaec_gpu.encode(rgba, exact=True))
    # an opaque alpha channel costs nothing
    opaque = np.dstack([crop(), np.full((64, 64), 255, np.uint8)])
    assert vaec_gpu.encode(opaque) == vaec_gpu.encode(crop())


def test_metadata_travels_with_the_file_and_through_pillow(tmp_path):
    icc, exif, xmp = b"\0\0\2\0 not a real profile", b"MM\0*\0\0\0\x08\0\0\0\0\0\0", b"<x:xmpmeta/>"
    header = vaec_gpu.info(vaec_gpu.encode(crop(), icc=icc, exif=exif, xmp=xmp))
    assert (header["icc"], header["exif"], header["xmp"]) == (icc, exif, xmp)
    path = tmp_path / "cut.vaec"
    Image.fromarray(cut_out()).save(path, icc_profile=icc, exif=b"Exif\0\0" + exif)
    im = Image.open(path)
    assert im.mode == "RGBA" and im.info["icc_profile"] == icc
    assert im.info["exif"] == b"Exif\0\0" + exif
    assert np.array_equal(np.asarray(im)[..., 3], cut_out()[..., 3])
    Image.fromarray(cut_out()).save(path, icc_profile=icc, strip=True)
    assert "icc_profile" not in Image.open(path).info
    Image.fromarray(cut_out()[..., 0]).save(path)
    assert Image.open(path).mode == "L"


def test_bad_arrays_and_qualities_raise():
    with pytest.raises(ValueError):
        vaec_gpu.encode(np.zeros((8, 8, 5), np.uint8))
    with pytest.raises(ValueError):
        vaec_gpu.encode(np.zeros((8, 8, 3, 1), np.uint8))
    with pytest.raises(TypeError):
        vaec_gpu.encode(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(vaec_gpu.VaecError):
        vaec_gpu.encode(crop(), quality=99)


def test_one_codec_serves_several_threads():
    codec = vaec_gpu.Codec()
    a = crop()
    expected = codec.encode(a, 3)
    results, errors = [], []

    def work():
        try:
            results.append(codec.decode(codec.encode(a, 3)))
        except Exception as e:  # noqa: BLE001 -- collected for the assertion below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(np.array_equal(r, codec.decode(expected)) for r in results)


def test_any_bytes_like_object_decodes():
    data = vaec_gpu.encode(crop(), quality=3)
    want = vaec_gpu.decode(data)
    for like in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        assert np.array_equal(vaec_gpu.decode(like), want)
        assert vaec_gpu.info(like)["width"] == 64
        assert np.array_equal(vaec_gpu.Codec().decode(like), want)
    with pytest.raises(TypeError):
        vaec_gpu.decode(5)


def test_exif_with_its_jpeg_prefix_is_stored_once():
    block = b"MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
    data = vaec_gpu.encode(crop(), exif=b"Exif\x00\x00" + block)
    assert vaec_gpu.info(data)["exif"] == block
    im = Image.open(io.BytesIO(data))
    assert im.info["exif"] == b"Exif\x00\x00" + block


@pytest.mark.parametrize("mode", ["P", "PA", "CMYK", "YCbCr", "1", "I;16"])
def test_pillow_saves_other_modes_by_converting_them(tmp_path, mode):
    rgb = Image.open(CROP).convert("RGB")
    im = rgb.convert("L").convert(mode) if mode in ("1", "I;16") else rgb.convert(mode)
    if mode == "I;16":
        im = Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257))
        assert im.mode == "I;16"
    path = tmp_path / f"{mode.replace(';', '')}.vaec"
    im.save(path, quality=5)
    back = Image.open(path)
    assert back.size == (64, 64)
    # (PA from an RGB picture has an opaque alpha, which costs nothing and is not kept)
    assert back.mode == {"P": "RGB", "PA": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "1": "L", "I;16": "L"}[mode]
    if mode == "I;16":  # its top 8 bits
        expected = np.asarray(rgb.convert("L")).astype(float)
        assert np.abs(np.asarray(back).astype(float) - expected).mean() < 8


@pytest.mark.parametrize("mode", ["F", "I"])
def test_pillow_refuses_float_and_32_bit_pictures_clearly(tmp_path, mode):
    im = Image.open(CROP).convert("L").convert(mode)
    with pytest.raises(ValueError, match="no fixed range"):
        im.save(tmp_path / "x.vaec")


def test_effort_matches_the_command_line_and_decodes(tmp_path):
    a = crop()
    searched = vaec_gpu.encode(a, quality=7, effort=1)
    assert searched == vaec_gpu.Codec(effort=1).encode(a, 7)
    png = tmp_path / "crop.png"
    Image.fromarray(a).save(png)
    out = tmp_path / "crop.vaec"
    subprocess.run([CLI, "encode", str(png), "-o", str(out), "-q", "7", "--effort", "1"], check=True,
                   capture_output=True)
    assert out.read_bytes() == searched
    assert vaec_gpu.decode(searched).shape == a.shape
    with pytest.raises(ValueError, match="effort"):
        vaec_gpu.Codec(effort=4)
