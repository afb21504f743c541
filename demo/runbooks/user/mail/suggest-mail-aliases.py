"""Suggest mail aliases for a user.

Builds the usual alias forms (first.last, f.last, firstl, …) for a user in
one or more mail domains, normalising accents and umlauts the way mail
systems expect, and lists them for review before anyone creates them.

Args:
    UserName: the user the aliases are for.
    FirstName: given name, as in the directory.
    LastName: family name, as in the directory.
    Domains: mail domains to build aliases in.
"""
import json
import unicodedata

SPECIAL = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"}


def ascii_part(s: str) -> str:
    s = "".join(SPECIAL.get(c, c) for c in s.strip().lower())
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(c for c in s if c.isalnum() or c == "-")


def main(UserName: str, FirstName: str, LastName: str, Domains: list[str] = ["example.com"]):
    first, last = ascii_part(FirstName), ascii_part(LastName)
    if not first or not last:
        raise ValueError("FirstName and LastName must contain letters")
    locals_ = [f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last[0]}", f"{last}.{first}"]
    print(f"VERBOSE: {len(locals_)} forms in {len(Domains)} domain(s) for {UserName}")
    for domain in Domains:
        for local in locals_:
            print(f"{local}@{domain.lower()}")
    print("INFORMATION: " + json.dumps({"user": UserName, "count": len(locals_) * len(Domains)}))
