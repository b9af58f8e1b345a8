"""Password hashing: argon2id, constant-time verification, transparent rehash."""
from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class HashingParameters:
    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 2


class PasswordHashing:
    def __init__(self, parameters: HashingParameters = HashingParameters()):
        self._hasher = PasswordHasher(time_cost=parameters.time_cost,
                                      memory_cost=parameters.memory_cost_kib,
                                      parallelism=parameters.parallelism)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
