"""WAV files block by block: `read_wav_blocks` gives `read_wav`'s samples with its checks, and
`write_wav_blocks` writes the very bytes `write_wav` writes, leaving no file when the blocks fail."""

import io

import numpy as np
import pytest
import soundfile as sf

from drywet.audio import (
    info,
    pcm16_wav_bytes,
    read_channels,
    read_wav,
    read_wav_blocks,
    wav_info,
    write_wav,
    write_wav_blocks,
)
from drywet.errors import InputError

SR = 16000


def noise(n: int, channels: int = 1) -> np.ndarray:
    return np.random.default_rng(n).uniform(-0.9, 0.9, (n, channels)).astype(np.float32)


@pytest.mark.parametrize("subtype,channel", [("FLOAT", None), ("PCM_24", 1), ("PCM_16", 0)])
def test_blocks_are_read_wav(tmp_path, subtype, channel):
    path = tmp_path / "in.wav"
    data = noise(10_001, 1 if channel is None else 2)
    sf.write(str(path), data, SR, subtype=subtype)
    whole, sr = read_wav(path, channel)
    blocks = list(read_wav_blocks(path, channel, block=4096))
    assert [b.size for b in blocks] == [4096, 4096, 1809] and all(b.dtype == np.float32 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    assert wav_info(path, channel) == (10_001, SR) and sr == SR


def test_block_reading_errors(tmp_path):
    stereo = tmp_path / "stereo.wav"
    sf.write(str(stereo), noise(100, 2), SR)
    with pytest.raises(InputError, match="2 channels; expected mono"):
        wav_info(stereo)
    with pytest.raises(InputError, match="channel 2 requested"):
        next(read_wav_blocks(stereo, 2))
    with pytest.raises(InputError, match="file not found"):
        wav_info(tmp_path / "none.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(InputError, match="unreadable audio file"):
        wav_info(junk)
    bad = tmp_path / "nan.wav"
    x = noise(5000)
    x[4500] = np.nan
    sf.write(str(bad), x, SR, subtype="FLOAT")
    blocks = read_wav_blocks(bad, block=4096)
    assert next(blocks).size == 4096
    with pytest.raises(InputError, match="NaN or infinite"):
        next(blocks)


def test_blocks_write_write_wavs_bytes(tmp_path):
    x = noise(10_001)[:, 0]
    write_wav(tmp_path / "whole.wav", x, SR)
    write_wav_blocks(tmp_path / "blocks.wav", iter(np.split(x, [3, 4096, 9000])), x.size, SR)
    assert (tmp_path / "blocks.wav").read_bytes() == (tmp_path / "whole.wav").read_bytes()


def test_a_failed_block_write_leaves_no_file(tmp_path):
    def failing():
        yield np.zeros(100, np.float32)
        raise InputError("in.wav: contains NaN or infinite samples")

    out = tmp_path / "out.wav"
    with pytest.raises(InputError):
        write_wav_blocks(out, failing(), 200, SR)
    with pytest.raises(ValueError, match="200 samples announced, 100 given"):
        write_wav_blocks(out, iter([np.zeros(100, np.float32)]), 200, SR)
    assert list(tmp_path.iterdir()) == []


def test_info_and_all_channels_without_checks(tmp_path):
    path = tmp_path / "stereo.wav"
    x = noise(300, 2)
    sf.write(path, x, 8000, subtype="FLOAT")
    assert (info(path).frames, info(path).sample_rate, info(path).channels) == (300, 8000, 2)
    data, sr = read_channels(path)
    assert sr == 8000 and data.shape == (300, 2)
    np.testing.assert_allclose(data, x, atol=1e-7)
    with pytest.raises(InputError, match="file not found"):
        info(tmp_path / "missing.wav")
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    with pytest.raises(InputError, match="unreadable"):
        info(tmp_path / "bad.wav")


def test_pcm16_bytes_read_back_at_16_bits():
    x = np.linspace(-1, 1, 101)
    y, sr = sf.read(io.BytesIO(pcm16_wav_bytes(x, 8000)))
    assert sr == 8000 and sf.info(io.BytesIO(pcm16_wav_bytes(x, 8000))).subtype == "PCM_16"
    np.testing.assert_allclose(y, x, atol=1 / 32767)
