"""What every layer uses: the settings (kiosk.json), where things live, atomic files, quiet native libraries."""
