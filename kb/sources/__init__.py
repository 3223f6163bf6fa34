"""Source files by type: plain text and Markdown (`kb.ingest`), MEDLINE/PubMed XML (`kb.sources.medline`) and
PMC JATS XML (`kb.sources.jats`), plain or gzip-compressed; each file yields its documents one at a time."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kb.errors import IngestError
from kb.models import Document

XML_SUFFIXES = (".xml", ".nxml", ".xml.gz", ".nxml.gz")
MAX_ARTICLE_BYTES = 50 * 1024 * 1024
"""A JATS file is one article and is read whole; a MEDLINE file is streamed and has no limit."""


@dataclass(frozen=True)
class SourceFailure:
    """A file, or one article in it, that gives no document: ``reason`` says why (one line)."""

    origin: str
    reason: str


def is_xml(path: Path | str) -> bool:
    return str(path).lower().endswith(XML_SUFFIXES)


class SourceFile:
    """One file to ingest. `documents` yields its documents (or failures) in order; ``position`` is how far
    into the file (in bytes on disk, compressed or not) reading has got, for progress and time left."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = str(path)
        try:
            self.size = self.path.stat().st_size
        except OSError:
            self.size = 0
        self.position = 0

    def _open(self) -> tuple[IO[bytes], IO[bytes]]:
        """The raw file (whose offset is the progress) and the stream to parse."""
        raw = self.path.open("rb")
        if self.name.lower().endswith(".gz"):
            return raw, gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return raw, raw

    def documents(self) -> Iterator[Document | SourceFailure]:
        if not is_xml(self.path):
            from kb.ingest import read_document

            try:
                yield read_document(self.path)
            except IngestError as error:
                yield SourceFailure(self.name, error.reason)
            self.position = self.size
            return
        try:
            root = self._check()
        except IngestError as error:
            yield SourceFailure(self.name, error.reason)
            self.position = self.size
            return
        if root in ("PubmedArticleSet", "PubmedArticle"):
            yield from self._medline()
        elif root == "article":
            yield self._jats()
        else:
            yield SourceFailure(
                self.name, f"is XML with root <{root}>, neither MEDLINE (PubmedArticleSet) nor JATS (article)"
            )
        self.position = self.size

    def _error(self, error: Exception) -> IngestError:
        from lxml import etree

        if isinstance(error, etree.XMLSyntaxError):
            line = error.lineno or (error.position[0] if error.position else 0)
            message = (error.msg or str(error)).splitlines()[0].rstrip(".")
            return IngestError(
                self.name, f"is not well-formed XML: line {line}: {message}; nothing ingested from it"
            )
        if isinstance(error, (EOFError, zlib.error, gzip.BadGzipFile)):
            return IngestError(self.name, f"is not a readable gzip file ({error}); nothing ingested from it")
        if isinstance(error, OSError):
            return IngestError(self.name, f"cannot be read ({error.strerror or error})")
        return IngestError(self.name, str(error))

    def _check(self) -> str:
        """The root element's name, after reading the whole file once: a malformed file is refused before any
        of its articles is ingested (a parse is a small part of the cost of ingesting)."""
        from lxml import etree

        if not self.path.is_file():
            raise IngestError(
                self.name, "no such file" if not self.path.exists() else "is not a regular file"
            )
        root = ""
        try:
            raw, stream = self._open()
            with raw, stream:
                for event, element in etree.iterparse(
                    stream, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
                ):
                    if event == "start":
                        if not root:
                            root = etree.QName(element).localname
                        continue
                    if element.getparent() is not None and element.getparent().getparent() is None:
                        # A child of the root is done: drop it and its earlier siblings (constant memory).
                        element.clear(keep_tail=False)
                        while element.getprevious() is not None:
                            del element.getparent()[0]
        except (etree.XMLSyntaxError, OSError, EOFError, zlib.error) as error:
            raise self._error(error) from None
        if not root:
            raise IngestError(self.name, "is empty; nothing to ingest")
        return root

    def _medline(self) -> Iterator[Document | SourceFailure]:
        from lxml import etree

        from kb.sources.medline import ArticleProblem, iter_articles

        raw, stream = self._open()
        with raw, stream:
            try:
                for item in iter_articles(stream):
                    self.position = raw.tell()
                    if isinstance(item, ArticleProblem):
                        yield SourceFailure(self.name, str(item))
                    else:
                        yield item
            except (etree.XMLSyntaxError, OSError, EOFError, zlib.error) as error:
                # Only when the file changed since it was checked.
                yield SourceFailure(self.name, self._error(error).reason)

    def _jats(self) -> Document | SourceFailure:
        from lxml import etree

        from kb.sources.jats import article_document

        raw, stream = self._open()
        with raw, stream:
            data = stream.read(MAX_ARTICLE_BYTES + 1)
        if len(data) > MAX_ARTICLE_BYTES:
            return SourceFailure(
                self.name, f"is over {MAX_ARTICLE_BYTES // 2**20} MB; too large for one article"
            )
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
        )
        try:
            root = etree.fromstring(data, parser)
            stem = self.path.name.split(".")[0]
            return article_document(root, data, stem)
        except etree.XMLSyntaxError as error:
            return SourceFailure(self.name, self._error(error).reason)
        except ValueError as error:
            return SourceFailure(self.name, str(error))


def read_single(path: Path | str) -> Document:
    """The one article of an XML source file (as `trialkb build` reads a stored article)."""
    documents = []
    for item in SourceFile(path).documents():
        if isinstance(item, SourceFailure):
            raise IngestError(str(path), item.reason)
        documents.append(item)
    if len(documents) != 1:
        raise IngestError(str(path), f"holds {len(documents)} articles; a stored source holds one")
    return documents[0]
