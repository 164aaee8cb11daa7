"""int8 dynamic quantization of an exported graph (``bin.export --format onnx --quantize int8``).

onnxruntime's ``quantize_dynamic`` takes the weight MatMuls (:func:`weight_matmuls`); each multiplies
8-bit activations, quantized per call (``DynamicQuantizeLinear``), by int8 weights. Where a MatMul reads the
patches of a convolution written as a MatMul (:mod:`~espnet_layerprune.export.onnx_layers`: slices of one
tensor side by side), :func:`quantize_before_slicing` quantizes that tensor instead, so that the patches are
cut and copied in 8 bits (a quarter of the bytes) and the activations are quantized once, not once per copy.
"""

import logging
from pathlib import Path
from typing import List


def weight_matmuls(path: Path) -> List[str]:
    """Names of the MatMul/Gemm nodes of the graph at ``path`` that multiply by a weight matrix,
    outside the front end: what int8 quantization takes. The front end's mel matrix is left out (the
    power spectrum spans too many decades for 8 bits), and so are activation-by-activation products
    (attention scores)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    return [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and not n.name.startswith("/frontend/")
            and any(i in weights for i in n.input)]


def quantize_before_slicing(model) -> int:
    """Rewrite ``Slice``s of one float tensor -> ``Concat`` -> ``DynamicQuantizeLinear`` as
    ``DynamicQuantizeLinear`` of that tensor -> the same ``Slice``s -> ``Concat``, in ``model`` (an
    ``onnx.ModelProto``). The scale spans the whole tensor rather than the patches cut from it (the same
    values, up to a few border elements). Returns how many were rewritten."""
    from onnx import helper

    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    rewritten = 0
    for dql in [n for n in graph.node if n.op_type == "DynamicQuantizeLinear"]:
        concat = producer.get(dql.input[0])
        if concat is None or concat.op_type != "Concat" or len(consumers[concat.output[0]]) != 1:
            continue
        chains = [_slice_chain(i, producer, consumers) for i in concat.input]
        roots = {root for root, _ in chains}
        if len(roots) != 1 or not all(chain for _, chain in chains):
            continue
        prefix = f"{dql.name}/before_slicing"
        new_nodes = [helper.make_node("DynamicQuantizeLinear", [roots.pop()],
                                      [f"{prefix}/q", dql.output[1], dql.output[2]], name=f"{prefix}/quantize")]
        pieces = []
        for k, (_, chain) in enumerate(chains):
            current = f"{prefix}/q"
            for j, old in enumerate(chain):
                name = f"{prefix}/slice{k}_{j}"
                new_nodes.append(helper.make_node("Slice", [current, *old.input[1:]], [name], name=name))
                current = name
            pieces.append(current)
        new_nodes.append(helper.make_node("Concat", pieces, [dql.output[0]], name=f"{prefix}/concat",
                                          axis=helper.get_attribute_value(concat.attribute[0])))
        unused = {id(n): n for _, chain in chains for n in chain if len(consumers[n.output[0]]) == 1}
        for node in [dql, concat, *unused.values()]:
            graph.node.remove(node)
        graph.node.extend(new_nodes)
        rewritten += 1
    if rewritten:
        _sort_topologically(graph)
    return rewritten


def _slice_chain(tensor: str, producer: dict, consumers: dict):
    """``(root, [Slice, ...])``: the Slices (each read only by the next) that cut ``tensor`` from ``root``."""
    chain = []
    while tensor in producer and producer[tensor].op_type == "Slice" and len(consumers.get(tensor, [])) <= 1:
        chain.insert(0, producer[tensor])
        tensor = producer[tensor].input[0]
    return tensor, chain


def _sort_topologically(graph) -> None:
    """Reorder ``graph.node`` so that every node follows the producers of its inputs (stable)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [all(i in available for i in n.input) for n in pending]
        if not any(ready):
            raise RuntimeError("the rewritten graph has a cycle or a missing input")
        for n, r in zip(pending, ready):
            if r:
                available.update(n.output)
                ordered.append(n)
        pending = [n for n, r in zip(pending, ready) if not r]
    del graph.node[:]
    graph.node.extend(ordered)


def quantize_int8(fp32_path: Path, int8_path: Path) -> Path:
    """onnxruntime's dynamic int8 quantization (weights per output channel, activations per call) of
    the :func:`weight_matmuls` of ``fp32_path``, then :func:`quantize_before_slicing`; everything else
    stays float32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # the quantizer logs every tensor, and advice to pre-process
    try:
        quantize_dynamic(str(fp32_path), str(int8_path), nodes_to_quantize=weight_matmuls(fp32_path),
                         op_types_to_quantize=["MatMul", "Gemm"], per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
    model = onnx.load(str(int8_path))
    if quantize_before_slicing(model):
        onnx.checker.check_model(model)
        onnx.save(model, str(int8_path))
    if weight_matmuls(int8_path):
        raise RuntimeError(f"int8 quantization left weight MatMuls in float32: {weight_matmuls(int8_path)}")
    return int8_path
