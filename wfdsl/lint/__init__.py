"""Rules (errors WF1xx, lint rules WF2xx/WF3xx) and the lint driver."""
