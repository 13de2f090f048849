"""The LLM path of findings and region text (no Ray here; the stages live in pipelines/stages).

- prompts.py + prompts/*.json: versioned prompt templates (data); answer.py: the answers' JSON schema;
- client.py: OpenAI-compatible chat-completions client (bounded concurrency, QPS, retries);
- cache.py: answers cached on disk by (model, prompt version, input hash);
- findings.py + repair.py: reports → FINDING rows, validated and repaired, rule-extractor fallback;
- agreement.py: rules vs LLM agreement and the disagreement table;
- regions.py + describe.py: MedTrinity-style region descriptions (template; LLM when configured).
"""
