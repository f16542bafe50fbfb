"""Formats the project does not parse itself (.docx, .pptx, .epub), read by llama-index's file readers.

A reader only yields the document's text; readers.py cleans it like every other format,
so hashing, offsets and citations do not depend on the reader. llama-index is imported
here and only when such a file is read: a corpus without one, and every question, never
load it. `.odt` has no reader here: llama-index reads it only through `unstructured`
(pandoc and NLTK data fetched at run time), which this offline product cannot use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .text import one_line
from .types import AssistantError

# suffix -> the llama-index reader (llama-index-readers-file) and the package it parses with
FORMATS: dict[str, tuple[str, str]] = {
    ".docx": ("DocxReader", "docx2txt"),
    ".pptx": ("PptxReader", "python-pptx"),
    ".epub": ("EpubReader", "EbookLib and html2text"),
}
_SLIDE_SEPARATOR = "-----"  # the slides reader's line between a slide's title, text, tables and notes


def _reader_classes() -> tuple[Any, dict[str, Any]]:
    """SimpleDirectoryReader and the reader class of each format (imports llama-index)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from llama_index.core import SimpleDirectoryReader
        from llama_index.readers import file as readers
    finally:
        # The slides reader calls logging.basicConfig when imported; the process's logging stays ours.
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return SimpleDirectoryReader, {suffix: getattr(readers, name) for suffix, (name, _) in FORMATS.items()}


def _extractor(suffix: str, cls: Any) -> Any:
    # The slides reader logs a failure and returns nothing unless told to raise.
    return cls(raise_on_error=True, num_workers=0) if suffix == ".pptx" else cls()


def read_text(path: Path) -> str:
    """The text of a .docx, .pptx or .epub file (parts such as slides joined by a blank line).

    Raises AssistantError (one line, naming the file) when the file cannot be read or a
    parsing package is missing.
    """
    suffix = path.suffix.lower()
    reader_name, package = FORMATS[suffix]
    try:
        directory_reader, classes = _reader_classes()
    except ImportError as exc:
        raise AssistantError(
            f"{path}: reading {suffix} files needs llama-index-readers-file ({exc.name or exc} is missing)"
        ) from None
    reader = directory_reader(
        input_files=[str(path)],
        file_extractor={suffix: _extractor(suffix, classes[suffix])},
        raise_on_error=True,
    )
    try:
        parts = reader.load_data(show_progress=False)
    except ImportError:
        raise AssistantError(f"{path}: reading {suffix} files needs {package} ({reader_name})") from None
    except Exception as exc:  # each reader and parser raises its own types for a broken file
        cause = exc.__cause__ or exc
        reason = one_line(str(cause))[:200] or type(cause).__name__
        raise AssistantError(f"{path}: unreadable {suffix} file ({reason})") from None
    return "\n\n".join(_slide_text(part) if suffix == ".pptx" else part.text for part in parts)


def _slide_text(slide: Any) -> str:
    """A slide's own text: without the reader's frame, a "Title: ..." line (the title is also
    one of the slide's text shapes, so it stays once) and "-----" lines between the parts."""
    lines = slide.text.split("\n")
    title = slide.metadata.get("title") or ""
    if title and lines[0] == f"Title: {title}":
        lines = lines[1:]
    return "\n".join(line for line in lines if line.strip() != _SLIDE_SEPARATOR)
