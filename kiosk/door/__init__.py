"""The running door: camera and video sources, idle gate, recognizer, decisions, liveness, greeting, speech, log, gallery sync, stats."""
