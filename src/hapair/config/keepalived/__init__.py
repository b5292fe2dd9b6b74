"""keepalived 2.2.7's configuration language: reader, keywords, typed model and `-t` checks."""
