"""The import benchmark's peers: the same file, parsed by the same parser, written to a
plaintext SQLite table (``plain_sqlite``) or to a SQLCipher database (``sqlcipher``).

Both run ``common.import_file``, so they differ only in the driver and its key.
"""
