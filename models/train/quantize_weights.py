"""Weight-only int8 storage for an f32 ONNX graph (compute stays f32).

Every large weight initializer (Gather table, MatMul/Gemm weight) is replaced by
    int8 initializer -> DequantizeLinear(scale=1.0, zero_point=int8 0) -> Mul(per-channel f32 scale)
feeding the original consumer under the original tensor name. Nothing else is quantized:
no QuantizeLinear, no quantized activations. Both DequantizeLinear and Mul have constant
inputs only, so tract constant-folds them at load and runs the plain f32 graph.

Why DequantizeLinear(scale 1.0) + Mul instead of a per-axis DequantizeLinear: tract's ONNX
DequantizeLinear reads only the first element of x_scale (per-tensor only), so a per-axis
scale would be silently wrong there; per-channel scales via Mul are exact everywhere.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weights(src, dst, min_elems=4096):
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    consumers = {}
    for n in g.node:
        for k, inp in enumerate(n.input):
            consumers.setdefault(inp, []).append((n, k))

    new_nodes, report = [], []
    zp = numpy_helper.from_array(np.array(0, dtype=np.int8), "q_zero_point_i8")
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "q_scale_one")
    g.initializer.extend([zp, one])
    for name, init in list(inits.items()):
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.ndim != 2 or w.size < min_elems:
            continue
        cons = consumers.get(name, [])
        if not cons:
            continue
        kinds = set()
        for n, k in cons:
            if n.op_type == "Gather" and k == 0:
                kinds.add("gather")
            elif n.op_type == "MatMul" and k == 1:
                kinds.add("matmul")
            elif n.op_type == "Gemm" and k == 1:
                tb = next((a.i for a in n.attribute if a.name == "transB"), 0)
                kinds.add("gemm_t" if tb else "matmul")
            else:
                kinds.add("other:" + n.op_type)
        if len(kinds) != 1 or next(iter(kinds)).startswith("other"):
            report.append((name, w.shape, "skipped " + ",".join(sorted(kinds))))
            continue
        kind = kinds.pop()
        # per-channel: rows of an embedding table / rows of a transposed Gemm weight ([out, in]),
        # columns of a MatMul weight ([in, out])
        axis = 1 if kind == "matmul" else 0
        amax = np.abs(w).max(axis=1 - axis, keepdims=True)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        if axis == 1:
            scale_vec = scale.reshape(-1)  # [out] broadcasts over the last dim
        else:
            scale_vec = scale.reshape(-1, 1)  # [rows, 1]
        g.initializer.remove(init)
        g.initializer.extend([numpy_helper.from_array(q, name + "_int8"),
                              numpy_helper.from_array(scale_vec, name + "_scale")])
        new_nodes.append(helper.make_node("DequantizeLinear", [name + "_int8", "q_scale_one", "q_zero_point_i8"],
                                          [name + "_dq"], name=name + "_DequantizeLinear"))
        new_nodes.append(helper.make_node("Mul", [name + "_dq", name + "_scale"], [name], name=name + "_scale_Mul"))
        err = np.abs(q.astype(np.float32) * scale - w).max()
        report.append((name, w.shape, f"int8 per-channel axis={axis} ({kind}), max abs err {err:.2e}"))
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(new_nodes + nodes)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return report


if __name__ == "__main__":
    import sys
    for r in quantize_weights(sys.argv[1], sys.argv[2]):
        print(r)
