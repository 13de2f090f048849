"""Grounding: link report/dataset findings to image regions, with evidence and an honest score.

Pure per-sample logic over plain REGION/FINDING dicts (no Ray), used by `pipelines/stages/ground_link.py`:

- `codes`: how two ontology codes relate (exact / descendant / ancestor / none);
- `geometry`: boxes and masks of REGION rows, the lung field, overlaps;
- `laterality`: the patient side a region lies on, per view convention and orientation hint;
- `location`: lung zones (upper/middle/lower, apex/base, hilum) from a region's position;
- `links`: finding ↔ region links with evidence, score and review flags;
- `dataset_links`, `anatomy`, `inherit`: dataset-given phrases, sentence ↔ anatomy, auto-mask labels;
- `templates`: deterministic template phrases from the ontology for every labelled region.
"""
