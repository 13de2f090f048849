"""Pure per-record logic: no Ray here."""
