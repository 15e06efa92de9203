"""The demo: a gallery and a walk-in clip made from the bundled sample faces."""
