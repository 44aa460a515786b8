"""A local stand-in for the HuggingFace Hub's HTTP API, enough for ``huggingface_hub.snapshot_download``.

It serves repositories held in memory: ``GET /api/models/{repo}[/revision/{rev}]`` (model info with ``sha`` and
``siblings``), ``GET /api/models/{repo}/tree/{rev}`` (the file list) and ``HEAD``/``GET /{repo}/resolve/{rev}/{file}``
(with ``X-Repo-Commit``, ``ETag``, ``Content-Length``, and ``Range`` for resumed downloads). Errors carry the
``X-Error-Code`` header (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``, ``GatedRepo``) that the client
turns into its exception classes. A repository can be gated (needs ``Authorization``) and a file can be cut short the
first time it is sent, to test resuming.
"""

import dataclasses
import hashlib
import http.server
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Hub", "Repo", "serve_hub"]


@dataclasses.dataclass
class Repo:
    """A repository: its files, commit, whether it is gated, and files to cut short once."""

    files: dict[str, bytes]
    sha: str = "0123456789abcdef0123456789abcdef01234567"
    gated: bool = False
    cut_once: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class Hub:
    """The repositories served, and every request seen (method, path, Range header) for the tests to check."""

    repos: dict[str, Repo]
    requests: list[tuple[str, str, str | None]] = dataclasses.field(default_factory=list)
    url: str = ""


_REVISION = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/.*)?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


def _handler(hub: Hub) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def _error(self, status: int, code: str) -> None:
            body = json.dumps({"error": code}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _repo(self, name: str, revision: str) -> Repo | None:
            repo = hub.repos.get(name)
            if repo is None:
                self._error(404, "RepoNotFound")
                return None
            if repo.gated and not self.headers.get("Authorization"):
                self._error(401, "GatedRepo")
                return None
            if revision not in ("main", repo.sha):
                self._error(404, "RevisionNotFound")
                return None
            return repo

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            hub.requests.append((self.command, path, self.headers.get("Range")))
            if match := _REVISION.match(path):
                if repo := self._repo(match["repo"], match["rev"] or "main"):
                    siblings = [{"rfilename": name} for name in repo.files]
                    self._json({"id": match["repo"], "sha": repo.sha, "siblings": siblings, "private": False})
            elif match := _TREE.match(path):
                if repo := self._repo(match["repo"], match["rev"]):
                    entries = [
                        {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                        for name, data in repo.files.items()
                    ]
                    self._json(entries)
            elif match := _RESOLVE.match(path):
                if repo := self._repo(match["repo"], match["rev"]):
                    self._file(repo, match["file"])
            else:
                self._error(404, "RepoNotFound")

        def _file(self, repo: Repo, name: str) -> None:
            data = repo.files.get(name)
            if data is None:
                self._error(404, "EntryNotFound")
                return
            start = 0
            if (ranged := self.headers.get("Range")) and (found := re.match(r"bytes=(\d+)-", ranged)):
                start = int(found[1])
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", repo.sha)
            self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if self.command == "HEAD":
                return
            if name in repo.cut_once:
                # Half the body, then the connection drops: the client must resume with a Range request.
                repo.cut_once.discard(name)
                self.wfile.write(data[start : start + (len(data) - start) // 2])
                self.wfile.flush()
                time.sleep(0.5)  # the client reads (and keeps) the first half before the connection drops
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(data[start:])

    return Handler


@contextmanager
def serve_hub(repos: dict[str, Repo]) -> Iterator[Hub]:
    """Serve ``repos`` on 127.0.0.1 (a free port) in a thread; yields the hub with its ``url``."""
    hub = Hub(repos)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
