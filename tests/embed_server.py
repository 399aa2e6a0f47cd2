#!/usr/bin/env python3
"""embed_server.py — a small OpenAI-compatible embeddings server for the
tests and the bench: `POST /v1/embeddings` with {"model", "input": [texts]}
answers {"object": "list", "data": [{"object": "embedding", "index": i,
"embedding": [...]}], "model"} like llama.cpp's server, Ollama, TEI or vLLM.

The embedding is deterministic and needs no model: a text's words are
lower-cased, mapped through a small concept table (so "Rollstuhl" and
"wheelchair" share a direction, like a multilingual model would put them
close), and hashed into DIM signed buckets; the vector is normalised.

Faults for the tests, set with `POST /mode {"mode": M, "delay_ms": N}`:
  ok        normal replies
  slow      wait delay_ms, then reply
  hang      wait delay_ms without replying, then close the connection
  wrongdim  vectors of DIM + 1 dimensions
  nan       a NaN in the first vector (printed as NaN, as some servers do)
  huge      a body of 6 MiB (over Hearth's 4 MiB bound)
  garbage   a body that is not JSON
  error     HTTP 500
`GET /stats` answers {"requests": n, "texts": n, "mode": M}.

Usage: embed_server.py [--dim N] [--port-file FILE]  (binds 127.0.0.1, a free port)
"""
import argparse
import hashlib
import json
import math
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONCEPTS = {
    "wheelchair": "wheelchair", "rollstuhl": "wheelchair", "rollator": "walker",
    "gehhilfe": "walker", "walker": "walker", "krücken": "crutches", "crutches": "crutches",
    "drill": "drill", "bohrmaschine": "drill", "akkuschrauber": "drill",
    "bike": "bike", "bicycle": "bike", "fahrrad": "bike", "rad": "bike",
    "pushchair": "stroller", "stroller": "stroller", "kinderwagen": "stroller",
    "water": "water", "wasser": "water", "outage": "outage", "ausfall": "outage",
    "stromausfall": "outage", "power": "power", "strom": "power",
    "vacuum": "vacuum", "staubsauger": "vacuum", "ladder": "ladder", "leiter": "ladder",
    "cat": "cat", "katze": "cat", "kater": "cat",
}
PREFIXES = ("query: ", "passage: ")

STATE = {"mode": "ok", "delay_ms": 0, "requests": 0, "texts": 0}
LOCK = threading.Lock()


def embed(text, dim):
    for p in PREFIXES:
        if text.startswith(p):
            text = text[len(p):]
    vec = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        concept = CONCEPTS.get(word, word)
        h = hashlib.sha256(concept.encode()).digest()
        bucket = int.from_bytes(h[:4], "little") % dim
        vec[bucket] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    if norm == 1.0 and not any(vec):
        vec[0] = 1.0
    return [x / norm for x in vec]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    dim = 64

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                body = json.dumps({k: STATE[k] for k in ("requests", "texts", "mode")}).encode()
            self._send(200, body)
        else:
            self._send(404, b"{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/mode":
            req = json.loads(raw)
            with LOCK:
                STATE["mode"] = req.get("mode", "ok")
                STATE["delay_ms"] = int(req.get("delay_ms", 0))
            self._send(200, b"{}")
            return
        if self.path != "/v1/embeddings":
            self._send(404, b"{}")
            return
        req = json.loads(raw)
        texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
        with LOCK:
            STATE["requests"] += 1
            STATE["texts"] += len(texts)
            mode, delay = STATE["mode"], STATE["delay_ms"]
        if mode in ("slow", "hang"):
            time.sleep(delay / 1000.0)
            if mode == "hang":
                self.close_connection = True
                return
        if mode == "error":
            self._send(500, b'{"error":"model not loaded"}')
            return
        if mode == "garbage":
            self._send(200, b"<html>not json</html>")
            return
        if mode == "huge":
            self._send(200, b'{"data":[' + b" " * (6 * 1024 * 1024) + b"]}")
            return
        dim = self.dim + 1 if mode == "wrongdim" else self.dim
        data = [{"object": "embedding", "index": i, "embedding": embed(t, dim)}
                for i, t in enumerate(texts)]
        if mode == "nan":
            data[0]["embedding"][0] = float("nan")
        body = json.dumps({"object": "list", "data": data, "model": req.get("model", "")}).encode()
        self._send(200, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    Handler.dim = args.dim
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
