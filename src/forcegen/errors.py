"""Errors a user sees: each names the file, line, column, field and what was expected.

Every face (CLI, Python API, web) reports bad input through :class:`ScenarioError`, a list of
:class:`Problem` records, so that all problems in a file are reported at once and none is a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows.

    ``line`` and ``column`` are 1-based; they are ``None`` when the problem has no position
    (a missing file, say). ``field`` is a path such as ``units[2].policy``, empty for the
    whole document.
    """

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.message}"


@dataclass
class ScenarioError(Exception):
    """A scenario (or other input file) that cannot be used, with every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        return head + ":\n" + "\n".join(f"  {p}" for p in self.problems)


class UsageError(ValueError):
    """A bad argument to a public function or CLI flag, with a message meant for the user."""
