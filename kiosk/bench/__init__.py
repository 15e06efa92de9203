"""`kiosk bench`: speed figures of the engine, the door loop, the gallery and the outputs."""
