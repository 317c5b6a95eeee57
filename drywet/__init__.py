"""drywet: learn an analog guitar effect from a dry and a wet recording with Keras LSTMs."""

__version__ = "0.1.0"
