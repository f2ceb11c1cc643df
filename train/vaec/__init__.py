"""vaec-gpu's training package: the model (CompressAI layers and names), the data, the integer
networks that decide entropy-table indexes and means, export to the Rust weight file, training
and evaluation. `python3 train/vaec_train.py --help` is its command line."""
