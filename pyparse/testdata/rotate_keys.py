#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Rotate a user's API keys.

Creates new keys, stores them in the vault
and revokes the old ones.

Args:
    UserName (str): The user whose keys rotate.
    KeyCount: How many keys
        to create.
    DryRun: Only print.

Notes:
    Needs the "vault" credential.

Examples:
    main("alice")

    main("bob", KeyCount=2)

RunbookCustomization: {
    "Parameters": {"UserName": {"Hide": true,},}, // trailing commas
}
"""
from __future__ import annotations
import datetime
from typing import List, Literal, Optional

PREFIX = f"{'x'!r:>{10}}" + f"{ {"a": 1}["a"] }"

def helper(x):
    def main(inner):  # nested: not the entry point
        return inner

class Job:
    def main(self, y):
        pass

async def main(
    UserName: str,               # comment inside the signature
    KeyCount: int = 1,
    Ratio: "float" = -0.5,
    DryRun: bool = False,
    Tags: list[str] = ["a", 'b'],
    Names: List[str] = (),
    Since: datetime.datetime | None = None,
    Until: Optional[datetime] = datetime.datetime.now(),
    Mode: Literal["fast", "slow"] = "fast",
    Extra: dict = {"k": 1},
    Blob=None,
    /,
    *,
    Note: str = "multi" "part",
    Hex: int = 0x1F,
    Big: int = 1_000,
    **kwargs,
) -> None:
    print(UserName)
