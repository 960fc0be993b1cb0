"""A minimal RFB 3.8 client (RFC 6143) that asks QEMU's VNC server for a
new desktop size (ExtendedDesktopSize, SetDesktopSize message 251). QEMU
forwards it to the virtio-gpu as a display change (dpy_set_ui_info), which
the device reports with VIRTIO_GPU_EVENT_DISPLAY: a way to change the mode
of a headless display from a test."""
import socket
import struct
import time


def _recv(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("VNC server closed the connection")
        data += chunk
    return data


def request_desktop_size(path, width, height, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            break
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    sock.settimeout(timeout)
    try:
        _recv(sock, 12)                      # ProtocolVersion
        sock.sendall(b"RFB 003.008\n")
        count = _recv(sock, 1)[0]            # security types
        types = _recv(sock, count)
        if 1 not in types:
            raise ConnectionError("VNC server offers no 'None' security: %r" % types)
        sock.sendall(bytes([1]))
        if struct.unpack(">I", _recv(sock, 4))[0] != 0:
            raise ConnectionError("VNC security handshake failed")
        sock.sendall(bytes([1]))             # ClientInit: shared
        w, h = struct.unpack(">HH", _recv(sock, 4))
        _recv(sock, 16)                      # pixel format
        name_len = struct.unpack(">I", _recv(sock, 4))[0]
        _recv(sock, name_len)
        # SetEncodings: raw, DesktopSize (-223), ExtendedDesktopSize (-308).
        encodings = [0, -223, -308]
        sock.sendall(struct.pack(">BxH", 2, len(encodings)) +
                     b"".join(struct.pack(">i", e) for e in encodings))
        # SetDesktopSize with one screen covering it.
        sock.sendall(struct.pack(">BxHHBx", 251, width, height, 1) +
                     struct.pack(">IHHHHI", 0, 0, 0, width, height, 0))
        time.sleep(0.2)  # let QEMU read it before the socket closes
        return w, h
    finally:
        sock.close()
