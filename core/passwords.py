"""What every argon2 password check shares: a dummy hash to verify against when the user is unknown.

An unknown user's password is verified against :data:`DUMMY_HASH` so that the answer takes the
same argon2id work as a wrong password for a real user (response time does not tell which
users exist). It is a constant, made once with ``argon2.PasswordHasher()``'s default parameters
(those of every stored hash; ``tests/core/test_passwords.py`` checks they still agree) from 32
random bytes that were then thrown away: nobody knows a password that matches it, and the
callers refuse an unknown user whatever the verification says. Hashing one at import time
instead cost each server start ~0.2 s of CPU per API that needs one.
"""

from __future__ import annotations

DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$9Oi4D2XTLoPkPqkxu6sf1w$WYbyLuBtf2uqHFrtetdQvtLNn/4EG6x+zC0tB4iwCnE"
