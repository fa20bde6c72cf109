"""A local stand-in for the Hugging Face Hub's upload API, for tests: a real HTTP server on 127.0.0.1.

``huggingface_hub``'s own client talks to it over real sockets when ``HF_ENDPOINT`` points at it
(``HF_ENDPOINT`` is read when ``huggingface_hub`` is imported, so set it in the environment of a
fresh process, e.g. the ``rmr1`` CLI). It answers what creating a repo and uploading a folder use:

* ``POST /api/repos/create`` — a model repo (``name``, ``organization``; no organization: the
  token's user, ``test-user``); 409 when it exists, as the Hub does;
* ``POST /api/validate-yaml`` — accepts any README metadata that parses as a mapping;
* ``POST /api/models/<repo>/preupload/<revision>`` — every file is a ``regular`` upload (sent
  inline, base64, in the commit), so no LFS or Xet transfer is exercised: the real Hub sends large
  weights through those;
* ``POST /api/models/<repo>/commit/<revision>`` — the NDJSON commit (files added, files deleted);
* ``GET /api/models/<repo>/tree/<revision>`` — the repo's files (``upload_folder(delete_patterns=…)``).

Every request needs ``Authorization: Bearer <token>`` (401 otherwise). The files of each repo and
its commits are kept in memory (``server.repos``), and every request's method, path,
authorization header and JSON body in ``server.requests``.

Usage::

    with HubTestServer(token="hf_test") as hub:
        subprocess.run([...], env={**os.environ, "HF_ENDPOINT": hub.url})
        assert "README.md" in hub.repos["test-user/judge"]["files"]
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import yaml

USER = "test-user"


class HubTestServer:
    """The stand-in server (a context manager; ``url`` is its endpoint).

    Args:
        token: the only token it accepts.
    """

    def __init__(self, token: str = "hf_test_token"):
        self.token = token
        self.repos: dict[str, dict] = {}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self, method: str) -> None:
                path = unquote(urlparse(self.path).path)
                body = self._body() if method == "POST" else b""
                auth = self.headers.get("Authorization")
                try:
                    payload = json.loads(body) if self.headers.get("Content-Type", "").startswith("application/json") else None
                except ValueError:
                    payload = None
                with server._lock:
                    server.requests.append({"method": method, "path": path, "authorization": auth, "json": payload})
                if auth != f"Bearer {server.token}":
                    self._reply(401, {"error": "Invalid credentials in Authorization header"})
                    return
                status, reply = server._route(method, path, body)
                self._reply(status, reply)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- routes ----------------------------------------------------------------------------

    def _route(self, method: str, path: str, body: bytes) -> tuple[int, object]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/api/repos/create":
            return self._create(json.loads(body))
        if method == "POST" and path == "/api/validate-yaml":
            return self._validate_yaml(json.loads(body)["content"])
        # /api/models/<ns>/<name>/<action>/<revision...>
        if len(parts) >= 6 and parts[:2] == ["api", "models"]:
            repo_id, action = f"{parts[2]}/{parts[3]}", parts[4]
            if repo_id not in self.repos:
                return 404, {"error": f"Repository Not Found: {repo_id}"}
            if method == "POST" and action == "preupload":
                files = json.loads(body)["files"]
                return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
            if method == "POST" and action == "commit":
                return self._commit(repo_id, body)
            if method == "GET" and action == "tree":
                files = self.repos[repo_id]["files"]
                entries = [
                    {"type": "file", "path": p, "size": len(b), "oid": hashlib.sha1(b).hexdigest()} for p, b in files.items()
                ]
                return 200, entries
        return 404, {"error": f"not served by the stand-in: {method} {path}"}

    def _create(self, payload: dict) -> tuple[int, object]:
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        with self._lock:
            if repo_id in self.repos:
                return 409, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"}
            self.repos[repo_id] = {"files": {".gitattributes": b"*.safetensors filter=lfs\n"}, "commits": [],
                                   "visibility": payload.get("visibility")}  # fmt: skip
        return 200, {"url": f"{self.url}/{repo_id}", "name": repo_id}

    @staticmethod
    def _validate_yaml(content: str) -> tuple[int, object]:
        if content.startswith("---\n"):
            try:
                metadata = yaml.safe_load(content[4:].split("\n---\n", 1)[0])
            except yaml.YAMLError as e:
                return 400, {"errors": [{"message": str(e)}]}
            if not isinstance(metadata, dict):
                return 400, {"errors": [{"message": "metadata must be a mapping"}]}
        return 200, {"warnings": []}

    def _commit(self, repo_id: str, body: bytes) -> tuple[int, object]:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        added, deleted = [], []
        with self._lock:
            files = self.repos[repo_id]["files"]
            for item in lines:
                value = item["value"]
                if item["key"] == "file":
                    files[value["path"]] = (
                        base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
                    )
                    added.append(value["path"])
                elif item["key"] in ("deletedFile", "deletedFolder"):
                    for path in [p for p in files if p == value["path"] or p.startswith(value["path"].rstrip("/") + "/")]:
                        del files[path]
                        deleted.append(path)
                elif item["key"] == "lfsFile":
                    return 400, {"error": "the stand-in takes regular uploads only"}
            commits = self.repos[repo_id]["commits"]
            oid = hashlib.sha1(f"{repo_id}{len(commits)}".encode()).hexdigest()
            commits.append({"summary": header.get("summary"), "added": added, "deleted": deleted, "oid": oid})
        return 200, {"commitUrl": f"{self.url}/{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}
