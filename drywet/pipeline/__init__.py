"""The pipeline's stages as library functions, one module per DVC stage (record, align, split, frame,
train, predict, evaluate, export, section, report): each takes paths and typed params and writes the
stage's outputs. `contracts` holds the typed readers and writers of the files one stage hands the
next; `outputs` the atomic output folder and the stage scripts' error handling. The scripts in
stages/ only parse their command line and call these."""
