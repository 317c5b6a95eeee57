"""WAV files block by block: `read_wav_blocks` gives `read_wav`'s samples with its checks, and
`write_wav_blocks` writes the very bytes `write_wav` writes, leaving no file when the blocks fail."""

import numpy as np
import pytest
import soundfile as sf

from drywet.audio import read_wav, read_wav_blocks, wav_info, write_wav, write_wav_blocks
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
