"""The runtime of Neural Amp Modeler's classic WaveNet (`.nam` architecture "WaveNet"), with no
TensorFlow or Keras: `arch` (the config, presets, sizes), `weights` (the arrays, the flat `.nam` list
both ways, the float64 reference) and `stream` (the streaming loop in C, or Numba without a compiler)."""

from drywet.wavenet.arch import PRESETS, LayerArray, WaveNetConfig
from drywet.wavenet.stream import WaveNetStream, run_wavenet
from drywet.wavenet.weights import (
    ArrayWeights,
    LayerWeights,
    WaveNetWeights,
    from_flat,
    random_weights,
    reference,
)

__all__ = ["PRESETS", "ArrayWeights", "LayerArray", "LayerWeights", "WaveNetConfig", "WaveNetStream",
           "WaveNetWeights", "from_flat", "random_weights", "reference", "run_wavenet"]
