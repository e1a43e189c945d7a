"""The fake Hub's servers stay quiet when a client hangs up (a cancelled or dropped
download resets its connection): socketserver printed a traceback among the test dots."""

from __future__ import annotations

import socket
import struct
import time


def test_reset_connection_prints_no_traceback(fake_hub, capfd):
    host, port = fake_hub.hub.httpd.server_address[:2]
    s = socket.create_connection((host, port))
    s.sendall(b"GET /api/models HTTP/1.1\r\nHost: x\r\n")  # a request line, never finished
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST: the handler's read of the next header line raises ConnectionResetError
    time.sleep(0.5)
    err = capfd.readouterr().err
    assert "Exception occurred during processing of request" not in err, err
    assert "Traceback" not in err, err
