"""A sequence model's weights read straight from its `.keras` file, without TensorFlow or Keras.

A `.keras` file is a zip holding `config.json` (the layer graph) and `model.weights.h5` (each layer's
variables, at `layers/<snake_case class name>[_<n>]` in the order of the model's layers, as Keras
saves them). `python -m drywet process` reads sequence models this way: importing TensorFlow and
loading the model with Keras take several seconds, reading these arrays a few milliseconds.

`SequenceWeights.from_keras` checks its reading by running the model over a probe; here the graph
itself is checked instead: exactly `dry` -> LSTM -> ... -> Dense(1) `wet` (-> Add of the dry input,
or of its first channel), float32, tanh / sigmoid, forwards. Anything else is refused with a
`LayoutError`, and the caller can load the model with Keras (whose reader refuses it properly or
runs it).
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from drywet.errors import ConfigError
from drywet.lstm.weights import LstmLayer, SequenceWeights

MODEL_FILE = "model.keras"  # the model in a model folder (beside model.json)
_LAYERS = ("InputLayer", "LSTM", "Dense", "Add")  # Keras layers (saved in the weights file); GetItem is an op


class LayoutError(ConfigError):
    """The file is not a sequence model in drywet's layout (or not a `.keras` file this reader knows)."""


def model_file(path: str | os.PathLike) -> Path:
    """The `.keras` file of a model given as the file or as a folder holding `model.keras`."""
    path = Path(path)
    return path / MODEL_FILE if path.is_dir() else path


def read_sequence_weights(path: str | os.PathLike, meta=None) -> SequenceWeights:
    """The weights of the sequence model saved at `path` (a `.keras` file), equal to what
    `SequenceWeights.from_keras` reads from the loaded model. `meta` (a ModelMeta), when given, is
    checked against the model's skip path as `from_keras` checks it. LayoutError for anything else."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            h5_bytes = archive.read("model.weights.h5")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise LayoutError(f"{path}: not a .keras file this reader knows ({exc})") from None
    try:
        graph = _graph(config)
        weights = _weights(graph, h5_bytes)
    except LayoutError as exc:
        raise LayoutError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, OSError) as exc:  # a malformed config or h5 file
        raise LayoutError(f"{path}: unexpected .keras contents ({type(exc).__name__}: {exc})") from None
    if meta is not None and bool(getattr(meta, "skip", weights.skip)) != weights.skip:
        raise ConfigError(f"model '{weights.name}': model.json says skip={meta.skip} but the model "
                          f"{'has' if weights.skip else 'has no'} skip connection")
    return weights


class _Graph:
    """What `_graph` found: the model's name, its input channels, its LSTM and Dense layer configs in order, whether it
    has the skip Add, and every saved layer's weights-file path by layer name."""

    def __init__(self, name: str, inputs: int, lstms: list[dict], dense: dict, skip: bool, paths: dict[str, str]):
        self.name, self.inputs, self.lstms, self.dense, self.skip, self.paths = name, inputs, lstms, dense, skip, paths


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the weights file's name for a layer class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _sources(layer: dict) -> list[str]:
    """The names of the layers feeding `layer` (its one call; an Add takes a list of tensors)."""
    nodes = layer["inbound_nodes"]
    if len(nodes) != 1:
        raise LayoutError(f"layer '{layer['name']}' is called {len(nodes)} times")
    args = nodes[0]["args"]
    tensors = args[0] if args and isinstance(args[0], list) else args[:1]
    names = []
    for tensor in tensors:
        if not (isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__"):
            raise LayoutError(f"layer '{layer['name']}' takes something other than a layer's output")
        names.append(tensor["config"]["keras_history"][0])
    return names


def _float32(layer: dict) -> bool:
    dtype = layer["config"].get("dtype", "float32")
    return (dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype) == "float32"


def _first(entry) -> str:
    """A layer name from `input_layers` / `output_layers` ([name, 0, 0] or [[name, 0, 0]])."""
    while isinstance(entry, list) and entry and isinstance(entry[0], list):
        if len(entry) != 1:
            raise LayoutError("the model has more than one input or output")
        entry = entry[0]
    return entry[0]


def _graph(config: dict) -> _Graph:
    """Check the layer graph is drywet's sequence layout; LayoutError naming what differs."""
    if config.get("class_name") != "Functional":
        raise LayoutError(f"a {config.get('class_name')} model, not a functional one")
    model = config["config"]
    layers = {layer["name"]: layer for layer in model["layers"]}
    kinds = {name: layer["class_name"] for name, layer in layers.items()}
    others = sorted(name for name, kind in kinds.items() if kind not in (*_LAYERS, "GetItem"))
    if others:
        raise LayoutError(f"layers other than LSTM, Dense and Add: {', '.join(others)}")
    inp = _first(model["input_layers"])
    if kinds.get(inp) != "InputLayer":
        raise LayoutError("the input is not an InputLayer")
    channels = layers[inp]["config"]["batch_shape"][-1]
    used = {inp}
    name = _first(model["output_layers"])
    skip = kinds[name] == "Add"
    if skip:
        used.add(name)
        feeds = _sources(layers[name])
        dense = [n for n in feeds if kinds.get(n) == "Dense"]
        dry = [n for n in feeds if kinds.get(n) != "Dense"]
        if len(feeds) != 2 or len(dense) != 1 or not _is_dry(dry[0], inp, channels, layers):
            raise LayoutError(f"the Add '{name}' does not add the dry input to the Dense head")
        used.add(dry[0])
        name = dense[0]
    head = layers[name]
    if kinds[name] != "Dense":
        raise LayoutError(f"the output comes from '{name}', not a Dense head")
    cfg = head["config"]
    if cfg["units"] != 1 or cfg["activation"] != "linear" or cfg.get("quantization_config") is not None:
        raise LayoutError("the head must be Dense(1) without activation")
    used.add(name)
    lstms = []
    (name,) = _sources(head)
    while kinds.get(name) == "LSTM":
        lstms.append(layers[name])
        used.add(name)
        feeds = _sources(layers[name])
        if len(feeds) != 1:
            raise LayoutError(f"layer '{name}' has {len(feeds)} inputs")
        name = feeds[0]
    if name != inp or not lstms:
        raise LayoutError("the Dense head is not fed by a stack of LSTM layers on the input")
    lstms.reverse()
    for layer in lstms:
        cfg = layer["config"]
        if (cfg["activation"], cfg["recurrent_activation"]) != ("tanh", "sigmoid"):
            raise LayoutError(f"layer '{layer['name']}' must use tanh / sigmoid activations")
        if cfg.get("go_backwards") or cfg.get("return_state") or not cfg.get("return_sequences"):
            raise LayoutError(f"layer '{layer['name']}' must run forwards and return every step "
                              "(a framed model's last LSTM returns one)")
    if used != set(layers):
        raise LayoutError(f"layers outside the stack: {', '.join(sorted(set(layers) - used))}")
    if not all(_float32(layer) for layer in layers.values() if layer["class_name"] in _LAYERS):
        raise LayoutError("a layer does not compute in float32")
    counts: dict[str, int] = {}
    paths = {}
    for layer in model["layers"]:  # Keras's own naming of the saved layers, in the model's order
        if layer["class_name"] in _LAYERS:
            base = _snake_case(layer["class_name"])
            counts[base] = counts.get(base, -1) + 1
            paths[layer["name"]] = f"layers/{base}" + (f"_{counts[base]}" if counts[base] else "")
    return _Graph(model["name"], channels, lstms, head, skip, paths)


def _is_dry(name: str, inp: str, channels, layers: dict) -> bool:
    """Whether `name` is the dry audio: the input itself (one channel) or the input's first channel
    (`inp[..., :1]`, a GetItem op)."""
    if name == inp:
        return channels == 1
    layer = layers.get(name, {})
    if layer.get("class_name") != "GetItem" or _sources(layer) != [inp]:
        return False
    index = layer["inbound_nodes"][0]["args"][1]
    return (isinstance(index, list) and len(index) == 2 and index[0].get("class_name") == "__ellipsis__"
            and index[1].get("class_name") == "__slice__"
            and index[1]["config"] == {"start": None, "stop": 1, "step": None})


def _weights(graph: _Graph, h5_bytes: bytes) -> SequenceWeights:
    import h5py

    with h5py.File(io.BytesIO(h5_bytes), "r") as h5:

        def variables(layer: dict, sub: str = "") -> list[np.ndarray]:
            group = h5[graph.paths[layer["name"]]]
            saved_as = group["vars"].attrs.get("name", layer["name"])  # newer Keras records the layer's name
            if saved_as != layer["name"]:
                raise LayoutError(f"the weights saved for '{layer['name']}' belong to '{saved_as}'")
            found = group[sub + "vars"]
            return [np.asarray(found[str(i)][()], np.float32) for i in range(len(found))]

        layers = []
        width = graph.inputs
        for layer in graph.lstms:
            w = variables(layer, "cell/")
            if len(w) not in (2, 3) or len(h5[graph.paths[layer["name"]]]["vars"]):
                raise LayoutError(f"layer '{layer['name']}' holds {len(w)} arrays, not an LSTM's")
            units = layer["config"]["units"]
            bias = w[2] if len(w) == 3 else np.zeros(4 * units, np.float32)
            if (w[1].shape != (units, 4 * units) or w[0].ndim != 2 or w[0].shape[1] != 4 * units
                    or bias.shape != (4 * units,) or w[0].shape[0] != width):
                raise LayoutError(f"layer '{layer['name']}' has arrays of unexpected shapes")
            layers.append(LstmLayer(w[0], w[1], bias))
            width = units
        hw = variables(graph.dense)
    if not hw or hw[0].shape != (width, 1) or len(hw) > 2:
        raise LayoutError("the Dense head's arrays have unexpected shapes")
    return SequenceWeights(tuple(layers), hw[0][:, 0].copy(), float(hw[1][0]) if len(hw) == 2 else 0.0,
                           graph.skip, graph.name)
