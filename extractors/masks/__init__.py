"""Mask generators and mask geometry: COCO RLE (`rle`), CPU weak masks (`classical`), SAM (`sam`)."""
