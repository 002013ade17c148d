"""A loopback arXiv: the query API (Atom in today's format) and the real PDFs of a corpus, with faults on demand.

Tests drive the real `arxiv` client and `digest fetch` against it; when arXiv itself is unreachable, run

    python -m digest.testing.arxiv_server --corpus ../shared/corpus --port 8765
    DIGEST_ARXIV_API_URL=http://127.0.0.1:8765/api/query digest fetch --list corpus/papers.toml

The corpus folder holds `metadata.json` (one object per paper: arxiv_id, title, abstract, primary_category,
published, arxiv_stamp, pdf.path). Ids the corpus lacks are unknown, as on arXiv: an empty feed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

from ..ids import InvalidId, parse_id
from ..text import normalize

FAULT_KINDS = ("status", "empty", "slow", "hang", "reset", "truncate", "html", "stall")
_STAMP = re.compile(r"arXiv:(?P<id>\S+?)v(?P<version>\d+)\s+\[[^\]]+\]\s+(?P<date>\d{1,2} \w{3} \d{4})")
_PDF_PATH = re.compile(r"^/pdf/(?P<id>.+?)(?:\.pdf)?$")
_TERM = re.compile(r'(?:(?P<field>ti|abs|au|cat|all|id):)?(?P<value>"[^"]*"|\S+)')
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>arXiv</title></head><body><h1>Just a moment...</h1>"
             b"<p>Checking your browser before accessing arxiv.org.</p></body></html>\n")


@dataclass
class Version:
    """One version of a paper as the loopback arXiv knows it."""

    arxiv_id: str
    version: int
    title: str
    abstract: str
    categories: list[str]
    published: datetime
    updated: datetime
    pdf: Path | None  # None: no PDF (withdrawn)
    authors: list[str] = field(default_factory=list)
    comment: str | None = None


@dataclass
class Fault:
    """A misbehaviour for the next `times` matching requests (None: all of them).

    kinds: status (HTTP `status`, with `retry_after`), empty (API: an empty feed), slow (answer after
    `seconds`), hang (accept the request, answer nothing, close after `seconds` or when the server stops), reset (PDF: half the body, then a TCP reset), truncate (PDF: only the first half of the
    file, with an honest Content-Length), html (PDF: an HTML page, status 200), stall (PDF: half the body,
    then nothing until the server stops or `seconds` pass).
    """

    kind: str
    target: str  # "api" or "pdf"
    arxiv_id: str | None = None  # only requests naming this paper
    times: int | None = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float = 5.0


@dataclass
class Seen:
    """A request the server got."""

    target: str  # api, pdf or other
    path: str
    ids: list[str]
    at: float  # time.monotonic()


class ArxivServer:
    """The loopback arXiv on 127.0.0.1. Use as a context manager, or `start()` and `stop()`."""

    def __init__(self, corpus: Path, host: str = "127.0.0.1", port: int = 0):
        self._corpus = load_corpus(corpus)
        self.papers: dict[str, list[Version]] = {k: list(v) for k, v in self._corpus.items()}
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/query"

    def start(self) -> "ArxivServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="arxiv-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ArxivServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # test controls ------------------------------------------------------------------------------
    def fault(self, kind: str, target: str, arxiv_id: str | None = None, times: int | None = 1, **options) -> Fault:
        """Misbehave on the next `times` requests to `target` ("api" or "pdf"); see `Fault`."""
        if kind not in FAULT_KINDS or target not in ("api", "pdf"):
            raise ValueError(f"unknown fault {kind!r} for {target!r}")
        fault = Fault(kind, target, arxiv_id, times, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        """Forget faults, requests seen and versions published, and let stalled answers go."""
        with self._lock:
            self.faults.clear()
            self.seen.clear()
            self.papers = {k: list(v) for k, v in self._corpus.items()}
        self._release.set()
        self._release.clear()

    def publish(self, arxiv_id: str, pdf: Path | None, comment: str | None = None) -> Version:
        """A new version of a paper, served from `pdf` (None with a comment: withdrawn)."""
        latest = self.papers[arxiv_id][-1]
        new = Version(arxiv_id, latest.version + 1, latest.title, latest.abstract, latest.categories,
                      latest.published, datetime.now(timezone.utc).replace(microsecond=0), pdf,
                      latest.authors, comment)
        with self._lock:
            self.papers[arxiv_id].append(new)
        return new

    def withdraw(self, arxiv_id: str) -> Version:
        """Withdraw a paper as arXiv does: a new version without a PDF, saying so in its comment."""
        return self.publish(arxiv_id, None, "This paper has been withdrawn by the authors.")

    def requests(self, target: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if target in (None, s.target)]

    # serving ------------------------------------------------------------------------------------
    def _record(self, target: str, path: str, ids: list[str]) -> Fault | None:
        """Note a request; the fault to apply to it, if any (consumed)."""
        with self._lock:
            self.seen.append(Seen(target, path, ids, time.monotonic()))
            for fault in self.faults:
                if fault.target == target and fault.times != 0 and fault.arxiv_id in (None, *ids):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def find(self, text: str) -> Version | None:
        try:
            aid = parse_id(text)
        except InvalidId:
            return None
        versions = self.papers.get(aid.base, [])
        if aid.version is None:
            return versions[-1] if versions else None
        return next((v for v in versions if v.version == aid.version), None)

    def search(self, query: str) -> list[Version]:
        """Latest versions whose fields hold every term (`ti:`, `abs:`, `au:`, `cat:`, `all:`; AND/OR/ANDNOT
        are read as AND)."""
        terms = [(m["field"] or "all", m["value"].strip('"')) for m in _TERM.finditer(query)
                 if m["value"] not in ("AND", "OR", "ANDNOT") and m["value"].strip('"()')]
        hits = []
        for versions in self.papers.values():
            v = versions[-1]
            fields = {"ti": v.title, "abs": v.abstract, "au": " ".join(v.authors), "cat": " ".join(v.categories),
                      "id": v.arxiv_id, "all": f"{v.title} {v.abstract} {' '.join(v.authors)}"}
            if all(normalize(value.strip("()")) in normalize(fields[name]) for name, value in terms):
                hits.append(v)
        return hits

    def feed(self, query: dict[str, str], entries: list[Version], total: int) -> bytes:
        """An Atom feed laid out as arXiv's API answers today (see ../shared/corpus/atom/current_*.xml)."""
        args = f"search_query={query['search_query']}&id_list={query['id_list']}&start={query['start']}&max_results={query['max_results']}"
        feed_id = base64.b64encode(hashlib.sha1(args.encode()).digest()).decode().rstrip("=")
        link = f"{self.api_url}?" + urlencode({k: query[k] for k in ("search_query", "start", "max_results", "id_list")}, safe=":,")
        out = [
            "<?xml version='1.0' encoding='UTF-8'?>",
            '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">',
            f"  <id>https://arxiv.org/api/{feed_id}</id>",
            f"  <title>arXiv Query: {escape(args)}</title>",
            f"  <updated>{_stamp(datetime.now(timezone.utc))}</updated>",
            f'  <link href={quoteattr(link)} type="application/atom+xml"/>',
            f"  <opensearch:itemsPerPage>{query['max_results']}</opensearch:itemsPerPage>",
            f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
            f"  <opensearch:startIndex>{query['start']}</opensearch:startIndex>",
        ]
        out += [self._entry(v) for v in entries]
        out.append("</feed>")
        return ("\n".join(out) + "\n").encode("utf-8")

    def _entry(self, v: Version) -> str:
        vid = f"{v.arxiv_id}v{v.version}"
        lines = [
            "  <entry>",
            f"    <id>http://arxiv.org/abs/{vid}</id>",
            f"    <title>{escape(v.title)}</title>",
            f"    <updated>{_stamp(v.updated)}</updated>",
            f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
        ]
        if v.pdf is not None:
            lines.append(f'    <link href="{self.url}/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>')
        lines.append(f"    <summary>{escape(v.abstract)}</summary>")
        lines += [f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in v.categories]
        lines.append(f"    <published>{_stamp(v.published)}</published>")
        if v.comment:
            lines.append(f"    <arxiv:comment>{escape(v.comment)}</arxiv:comment>")
        lines.append(f'    <arxiv:primary_category term="{v.categories[0]}"/>')
        for name in v.authors:
            lines += ["    <author>", f"      <name>{escape(name)}</name>", "    </author>"]
        lines.append("  </entry>")
        return "\n".join(lines)


def load_corpus(corpus: Path) -> dict[str, list[Version]]:
    """The papers in a corpus folder's metadata.json, each at the version its arXiv stamp names (else v1)."""
    papers: dict[str, list[Version]] = {}
    for item in json.loads((corpus / "metadata.json").read_text(encoding="utf-8")):
        stamp = _STAMP.search(item.get("arxiv_stamp") or "")
        updated = _date(stamp["date"]) if stamp else None
        published = _date(item["published"]) if item.get("published") else _month_of(item["arxiv_id"])
        papers[item["arxiv_id"]] = [Version(
            arxiv_id=item["arxiv_id"],
            version=int(stamp["version"]) if stamp else 1,
            title=item["title"],
            abstract=item.get("abstract") or "",
            categories=[item.get("primary_category") or "cs.CL"],
            published=published,
            updated=updated or published,
            pdf=corpus / item["pdf"]["path"],
            authors=item.get("authors") or [],
        )]
    return papers


def _date(text: str) -> datetime:
    """`4 Mar 2022` (as arXiv stamps print it) as a UTC datetime."""
    return datetime.strptime(" ".join(text.split()), "%d %b %Y").replace(tzinfo=timezone.utc)


def _month_of(arxiv_id: str) -> datetime:
    """A new-style id's month of first submission (`2302.13971` -> 2023-02-01)."""
    yymm = arxiv_id.split(".")[0]
    return datetime(2000 + int(yymm[:2]), int(yymm[2:]), 1, tzinfo=timezone.utc)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _handler(server: ArxivServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "loopback-arxiv/1"

        def log_message(self, format, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                if url.path == "/api/query":
                    self._api(url.query)
                elif m := _PDF_PATH.match(url.path):
                    self._pdf(m["id"])
                else:
                    server._record("other", self.path, [])
                    self._send(404, b"not found\n", "text/plain")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _api(self, raw_query: str) -> None:
            q = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
            query = {"search_query": q.get("search_query", ""), "id_list": q.get("id_list", ""),
                     "start": q.get("start", "0"), "max_results": q.get("max_results", "10")}
            ids = [i for i in query["id_list"].split(",") if i]
            fault = server._record("api", self.path, ids)
            if fault and self._common_fault(fault):
                return
            if ids:
                found = [v for v in map(server.find, ids) if v]
                if query["search_query"]:
                    hits = {id(v) for v in server.search(query["search_query"])}
                    found = [v for v in found if id(v) in hits]
            else:
                found = server.search(query["search_query"])
            start, size = int(query["start"]), int(query["max_results"])
            if fault and fault.kind == "empty":
                page, total = [], 0
            else:
                page, total = found[start : start + size], len(found)
            self._send(200, server.feed(query, page, total), "application/atom+xml; charset=utf-8")

        def _pdf(self, text: str) -> None:
            version = server.find(text)
            fault = server._record("pdf", self.path, [version.arxiv_id] if version else [text])
            if fault and self._common_fault(fault):
                return
            if version is None or version.pdf is None:
                self._send(404, b"<html><body>PDF unavailable</body></html>\n", "text/html")
                return
            data = version.pdf.read_bytes()
            kind = fault.kind if fault else None
            if kind == "html":
                self._send(200, HTML_PAGE, "text/html; charset=utf-8")
                return
            if kind == "truncate":
                data = data[: len(data) // 2]
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            cut = len(data) // 2 if kind in ("reset", "stall") else len(data)
            for start in range(0, cut, 1 << 16):
                self.wfile.write(data[start : min(cut, start + (1 << 16))])
            if kind == "reset":
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
            elif kind == "stall":
                self.wfile.flush()
                server._release.wait(fault.seconds)
                self.close_connection = True

        def _common_fault(self, fault: Fault) -> bool:
            """Apply a status, slow or hang fault; True when the request has been answered (or hung up on)."""
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            if fault.kind == "hang":
                server._release.wait(fault.seconds)
                self.close_connection = True
                return True
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._send(fault.status, f"HTTP {fault.status}\n".encode(), "text/plain", headers)
                return True
            return False

        def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A loopback arXiv API serving the PDFs of a local corpus.")
    parser.add_argument("--corpus", type=Path, required=True, help="folder with metadata.json and pdf/")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--ids", action="store_true", help="print the ids of the papers served, one a line, and exit")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.json").is_file():
        parser.error(f"{args.corpus} has no metadata.json; point --corpus at a folder holding metadata.json and pdf/")
    if args.ids:
        print("\n".join(load_corpus(args.corpus)))
        return
    server = ArxivServer(args.corpus, args.host, args.port)
    print(server.api_url, flush=True)
    print(f"serving {len(server.papers)} papers; export DIGEST_ARXIV_API_URL={server.api_url}",
          file=sys.stderr, flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
