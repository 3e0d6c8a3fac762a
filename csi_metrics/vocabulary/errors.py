"""One error type for bad input, so every message names file, line and column."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input file. str() reads `path:line: column 'X': message`."""

    def __init__(self, path: str | Path, message: str, line: int | None = None, column: str | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        col = f" column '{self.column}':" if self.column else ""
        return f"{where}:{col} {self.message}"


class BuildError(Exception):
    """A build that cannot run or finish for a reason outside its inputs (the disk
    is full, another build holds the database). str() is the whole message,
    naming the path; the previous database is left as it was."""
