"""Face-recognition door kiosk: the engine (no Qt here; the window lives in ``ui/``)."""

__version__ = "0.1.0"
