"""The planned items, held compactly: sample key → the item as its JSON text, decoded on access.

Planning needs every item at once (exact copies are found across the whole input, splits follow
patients and duplicate groups, shards are cut in sorted key order), so its memory grows with the
input. As Python dicts an item costs ~1.4 KB (an RSNA-like item: 14 keys, a label, a meta dict); as
its `json.dumps(sort_keys=True)` text ~0.5 KB, which is also the form the plan row stores, so the row
is made without encoding the item again. Decoding costs ~3 µs an item (measured), paid on each pass
over the items: members, rows, and the pre-scan's three passes when it is on.

The mapping behaves like a `dict[str, dict]` whose values are copies: a change to a value is kept only
when it is stored back (`items[key] = item`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any


def encode(item: dict[str, Any]) -> str:
    """The item's plan text: the `item` column of a plan row is exactly this."""
    return json.dumps(item, sort_keys=True)


class ItemStore(MutableMapping[str, dict[str, Any]]):
    """sample key → item dict, stored as JSON text (insertion order kept, as a dict's)."""

    def __init__(self) -> None:
        self._text: dict[str, str] = {}

    def __getitem__(self, key: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self._text[key])
        return value

    def __setitem__(self, key: str, item: dict[str, Any]) -> None:
        self._text[key] = encode(item)

    def __delitem__(self, key: str) -> None:
        del self._text[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._text)

    def __len__(self) -> int:
        return len(self._text)

    def __contains__(self, key: object) -> bool:
        return key in self._text

    def pop_text(self, key: str) -> str:
        """Remove one item and give its stored JSON text, not decoded."""
        return self._text.pop(key)
