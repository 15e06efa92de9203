"""The admin panel: PIN prompt, people, settings."""
