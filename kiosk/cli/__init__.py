"""The `kiosk` command line: argument parsing, one function per command, --json shapes."""
