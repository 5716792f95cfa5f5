#!/usr/bin/env python3
"""Draw a run's OpenTelemetry trace as a waterfall SVG (the picture in docs/TELEMETRY.md).

  python3 docs/tools/otlp_waterfall.py receive DIR   # an OTLP/HTTP (http/json) receiver on
                                                     # 127.0.0.1, prints its URL; saves each
                                                     # /v1/traces body into DIR; Ctrl-C stops
  python3 docs/tools/otlp_waterfall.py draw DIR OUT.svg
  python3 docs/tools/otlp_waterfall.py fake-anthropic  # a stand-in for the Anthropic API
                                                     # on 127.0.0.1 (answers after 0.3 s),
                                                     # prints its URL

Standard library only. Run trident with OTEL_EXPORTER_OTLP_PROTOCOL=http/json and
--telemetry-otlp=<the printed URL>. The picture in docs/TELEMETRY.md is the run of
docs/tools/trace-demo (see "For developers" there).
"""
import html
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def serve(handler):
    """Serves `handler` quietly on a free port of 127.0.0.1, printing its URL, until Ctrl-C."""
    handler.log_message = lambda self, *args: None
    server = HTTPServer(("127.0.0.1", 0), handler)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def receive(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/v1/traces":
                count[0] += 1
                with open(os.path.join(out_dir, f"traces-{count[0]:03}.json"), "wb") as f:
                    f.write(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    serve(Handler)


def fake_anthropic():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            time.sleep(0.3)
            body = json.dumps({
                "id": "msg_demo", "type": "message", "role": "assistant",
                "model": request.get("model", "claude"), "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "Sunny and mild, 21 C."}],
                "usage": {"input_tokens": 48, "output_tokens": 12},
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    serve(Handler)


def load_spans(in_dir):
    spans = []
    for name in sorted(os.listdir(in_dir)):
        with open(os.path.join(in_dir, name)) as f:
            request = json.load(f)
        for rs in request.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                spans.extend(ss.get("spans", []))
    return spans


COLOURS = {
    "invoke_workflow": "#5b6abf",
    "chat": "#d9822b",
    "execute_tool": "#2b9d6e",
    "invoke_agent": "#b54aa1",
}


def draw(in_dir, out_path):
    spans = load_spans(in_dir)
    by_id = {s["spanId"]: s for s in spans}
    children = {}
    roots = []
    for s in spans:
        parent = s.get("parentSpanId") or ""
        if parent in by_id:
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)
    start = lambda s: int(s["startTimeUnixNano"])
    end = lambda s: int(s["endTimeUnixNano"])
    rows = []

    def walk(span, depth):
        rows.append((span, depth))
        for child in sorted(children.get(span["spanId"], []), key=start):
            walk(child, depth + 1)

    for root in sorted(roots, key=start):
        walk(root, 0)
    t0 = min(start(s) for s in spans)
    t1 = max(end(s) for s in spans)
    total = max(t1 - t0, 1)
    label_w, bar_w, row_h, top = 330, 560, 24, 40
    width = label_w + bar_w + 90
    height = top + row_h * len(rows) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="14" font-weight="bold">Trace {html.escape(rows[0][0]["traceId"])}'
        f" — {len(rows)} spans, {total / 1e6:.0f} ms</text>",
    ]
    for i, (span, depth) in enumerate(rows):
        y = top + i * row_h
        op = next(
            (a["value"].get("stringValue") for a in span.get("attributes", [])
             if a["key"] == "gen_ai.operation.name"),
            None,
        )
        colour = COLOURS.get(op, "#8a8f98")
        error = span.get("status", {}).get("code") in (2, "STATUS_CODE_ERROR")
        x = label_w + (start(span) - t0) / total * bar_w
        w = max((end(span) - start(span)) / total * bar_w, 2)
        ms = (end(span) - start(span)) / 1e6
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f5f6f8"/>')
        out.append(
            f'<text x="{10 + depth * 16}" y="{y + 16}">{html.escape(span["name"])}</text>'
        )
        stroke = ' stroke="#c0392b" stroke-width="2"' if error else ""
        out.append(
            f'<rect x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
            f'fill="{colour}"{stroke}/>'
        )
        out.append(f'<text x="{x + w + 6:.1f}" y="{y + 16}" fill="#555">{ms:.1f} ms</text>')
    out.append("</svg>")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "receive":
        receive(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "draw":
        draw(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "fake-anthropic":
        fake_anthropic()
    else:
        print(__doc__)
        sys.exit(2)
