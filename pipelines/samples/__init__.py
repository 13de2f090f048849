"""Writers of tiny sample copies of public datasets in their real layouts (generated pixels, fake PHI)."""
