"""Running under systemd: readiness, status, reload and stop notices, and watchdog pings."""
