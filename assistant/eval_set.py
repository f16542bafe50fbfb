"""Eval question sets: the file format, loading with line-numbered errors, and the named sets.

A set is a JSON-lines file of questions (format in docs/architecture.md, "Eval sets")
plus the corpus it is asked of. `evals/sets.toml` names the project's sets, so
`assistant eval --set blind` or `--all` knows which corpus each one needs.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .types import AssistantError, Filters


class EvalFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: list[str] | None = None
    jurisdiction: str | None = None
    as_of: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")


class EvalPart(BaseModel):
    """One part of a multi-part question: answered (with its own evidence) or not."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    answerable: bool
    evidence: list[str] = Field(default_factory=list)


class EvalQuestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool | None = None
    # Each string sits in one sentence that answers the question; a citation is right when it holds one.
    evidence: list[str] | None = None
    facts: list[str] | None = None  # phrases the answer text must contain
    sources: list[str] | None = None
    filters: EvalFilters | None = None
    category: str | None = None
    parts: list[EvalPart] | None = None
    # An evolving corpus: what holds now, what a newer document superseded, and the sides of a disagreement.
    current_evidence: list[str] | None = None
    stale_evidence: list[str] | None = None
    conflict_sides: list[list[str]] | None = None

    def to_filters(self) -> Filters:
        from .jurisdiction import parse_code

        if not self.filters:
            return Filters()
        code = parse_code(self.filters.jurisdiction) if self.filters.jurisdiction else None
        return Filters(tuple(self.filters.source or ()), code, self.filters.as_of)

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def evidence_strings(self) -> list[str]:
        """Every string that names a sentence: evidence, parts, current, stale and conflict sides."""
        out = list(self.evidence or []) + list(self.current_evidence or []) + list(self.stale_evidence or [])
        for part in self.parts or []:
            out += part.evidence
        for side in self.conflict_sides or []:
            out += side
        return list(dict.fromkeys(out))


def load_questions(path: Path) -> list[EvalQuestion]:
    """Parse and validate a whole eval file before anything runs; errors name file and line."""
    try:
        raw = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise AssistantError(f"{path}: file does not exist") from None
    except UnicodeDecodeError as exc:
        raise AssistantError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssistantError(f"{path}:{n}: bad JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise AssistantError(f"{path}:{n}: each line must be a JSON object")
        try:
            q = EvalQuestion.model_validate(data)
            q.to_filters()
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "line"
            raise AssistantError(f"{path}:{n}: {field}: {err['msg']}") from None
        except ValueError as exc:
            raise AssistantError(f"{path}:{n}: filters.jurisdiction: {exc}") from None
        if q.id in seen:
            raise AssistantError(f"{path}:{n}: duplicate id {q.id!r} (first at line {seen[q.id]})")
        seen[q.id] = n
        questions.append(q)
    if not questions:
        raise AssistantError(f"{path}: no questions in the file")
    return questions


# ---------------------------------------------------------------- named sets


@dataclass(frozen=True)
class EvalSet:
    """A question file and the corpus it is asked of (paths relative to the repository)."""

    name: str
    questions: Path
    corpus: Path
    about: str = ""
    prepare: str = ""  # the command that writes a generated set's files, named when they are missing
    lint: bool = True  # False for a benchmark whose evidence is its own annotation, not ours to review


def load_sets(path: Path) -> dict[str, EvalSet]:
    """The named sets of `path` (evals/sets.toml), in file order; paths resolved against its folder's parent."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise AssistantError(f"{path}: file does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise AssistantError(f"{path}: TOML syntax error: {exc}") from None
    root = path.resolve().parent.parent
    sets: dict[str, EvalSet] = {}
    for name, entry in data.get("set", {}).items():
        if not isinstance(entry, dict) or "questions" not in entry or "corpus" not in entry:
            raise AssistantError(f"{path}: [set.{name}] needs 'questions' and 'corpus'")
        sets[name] = EvalSet(
            name,
            root / entry["questions"],
            root / entry["corpus"],
            str(entry.get("about", "")),
            str(entry.get("prepare", "")),
            bool(entry.get("lint", True)),
        )
    if not sets:
        raise AssistantError(f"{path}: no [set.NAME] tables")
    return sets
