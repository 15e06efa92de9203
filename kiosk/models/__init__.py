"""Fetching and converting the weights: the only place TensorFlow is allowed (run by `kiosk fetch-model`)."""
