"""Model registry, provisioning and thin lazy adapters.

The only package that imports sherpa_onnx, llama_cpp or onnxruntime, and only inside the adapter
that needs them, so ``import models`` costs nothing.
"""
