"""The LSTM runtime without Keras: a sequence model's weights as plain arrays (`weights`), read from
Keras or from its `.keras` file (`keras_file`); the exact streaming loop (`stream`, in C, or
`stream_numba` without a compiler) and its fitted tanh (`activation`); and the training kernels by
name (`kernels`: `keras`, `block`, `cpu`). Import the modules themselves: this package imports
nothing, so reading weights never loads the loop or TensorFlow."""
