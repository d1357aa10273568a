"""excolor: a color autoencoder whose concept "red" is anchored to a chosen latent direction."""
