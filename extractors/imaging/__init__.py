"""Image decoding (DICOM, PNG/JPEG), intensity windowing to 8 bits, deterministic PNG encoding."""
