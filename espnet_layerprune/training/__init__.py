"""Training with ESPnet's trainer: bf16 on CPU, and the supernet schedule filled in from the trainer."""
