"""excolor: a color autoencoder whose concept "red" is anchored to a chosen latent direction.

The app's science lives here, with no Streamlit: a Recipe -> train() -> TrainedRun -> evaluate().
"""

from .export import load

__all__ = ["load"]
