"""The shared dummy argon2 hash costs what a real one costs and matches nothing anyone sends."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from core.passwords import DUMMY_HASH


def test_dummy_hash_has_the_parameters_of_every_stored_hash():
    hasher = PasswordHasher()
    assert not hasher.check_needs_rehash(DUMMY_HASH)  # same type, memory, time and parallelism


@pytest.mark.parametrize("password", ["", "password", "wrong", "x" * 64])
def test_dummy_hash_verifies_nothing(password):
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(DUMMY_HASH, password)
