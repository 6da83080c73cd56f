"""uvicorn's HTTP protocol, answering what its parser refuses with our JSON error.

uvicorn answers a request it cannot parse (a raw non-ASCII byte in the URL, a
broken request line or header) by itself, in plain text, before any app sees it.
Our APIs answer every bad request in one JSON shape (http_errors.py): this one too."""

from __future__ import annotations

import json
from typing import Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from quantum.http_errors import error_body

UNPARSABLE: Final = json.dumps(
    error_body(
        "bad_request",
        "not a valid HTTP/1.1 request (characters outside ASCII in a URL must be percent-encoded)",
    )
).encode()


class JsonErrorHttpProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=JsonErrorHttpProtocol)``."""

    def send_400_response(self, msg: str) -> None:
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(UNPARSABLE))
        self.transport.write(b"".join([*head, UNPARSABLE]))
        self.transport.close()
