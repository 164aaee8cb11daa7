"""Exporting a pruned model: a stock ESPnet model directory, or one ONNX graph and its onnxruntime decoder."""
