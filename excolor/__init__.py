"""excolor: a color autoencoder whose concept "red" is anchored to a chosen latent direction.

Three layers: the science (this package's top-level modules: a Recipe -> train() -> TrainedRun -> evaluate()),
the figure builders (excolor.figures) and the Streamlit app (excolor.app, the only part that imports streamlit).
"""

__all__ = ["load"]


def __getattr__(name: str):
    """`excolor.load` without importing PyTorch on `import excolor`: the app paints its first frame before that."""
    if name == "load":
        from .export import load

        return load
    raise AttributeError(f"module 'excolor' has no attribute {name!r}")
