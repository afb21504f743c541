"""Generate a temporary password for a user.

Creates a random, policy-compliant temporary password that the support desk
can hand to a user over the phone. Nothing is changed in any directory: the
password is only generated and shown, so the runbook is safe to try.

Args:
    UserName: the user principal name the password is meant for.
    Length: number of characters (12 to 64).
    Words: use an easy-to-read passphrase of dictionary words instead.
"""
import secrets
import string

WORDS = ["amber", "brook", "cedar", "delta", "ember", "fjord", "grove", "harbor",
         "island", "juniper", "kestrel", "lagoon", "meadow", "nectar", "orchid",
         "pebble", "quartz", "raven", "summit", "tundra", "umber", "valley",
         "willow", "yonder", "zephyr"]


def main(UserName: str, Length: int = 16, Words: bool = False):
    if Length < 12 or Length > 64:
        raise ValueError(f"Length must be between 12 and 64, got {Length}")
    print(f"VERBOSE: generating a {'passphrase' if Words else 'password'} for {UserName}")
    if Words:
        count = max(3, Length // 6)
        password = "-".join(secrets.choice(WORDS) for _ in range(count)) + str(secrets.randbelow(100))
    else:
        alphabet = string.ascii_letters + string.digits + "!#%+-=?"
        while True:
            password = "".join(secrets.choice(alphabet) for _ in range(Length))
            if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                    and any(c.isdigit() for c in password)):
                break
    print(f"Temporary password for {UserName}: {password}")
    print("WARNING: share it over a verified channel and make the user change it at first sign-in")
