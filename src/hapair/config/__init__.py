"""Configuration languages hapair reads: keepalived's (`keepalived`), and later nginx's."""
