"""The kiosk's Qt shell: the window at the door and the admin panel, over the ``kiosk`` engine."""
