"""The pull-request API of a forge (GitHub first) and where its token comes from."""
