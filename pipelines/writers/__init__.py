"""Writers: shards (tables + WebDataset tar), source-level quarantine, manifest."""
