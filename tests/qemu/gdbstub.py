"""A minimal client of QEMU's gdbstub (GDB's remote serial protocol,
"Remote Protocol" in the GDB manual): enough to stop a guest at an
address, read its registers, read and write its memory, and let it run
on. QEMU listens with `-gdb unix:PATH,server=on,wait=off`; with `-S` the
guest waits for it."""
import socket
import struct
import time


class GdbError(Exception):
    pass


class GdbStub:
    def __init__(self, path, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise GdbError("gdbstub socket %s did not open" % path)
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""

    def _packet(self):
        """The next packet's payload (acknowledged), skipping acks."""
        while True:
            self.buf = self.buf.lstrip(b"+")
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start)
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                payload = self.buf[start + 1:end]
                self.buf = self.buf[end + 3:]
                try:
                    self.sock.sendall(b"+")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # QEMU answered and closed (detach, then exit)
                return payload.decode()
            chunk = self.sock.recv(4096)
            if not chunk:
                raise GdbError("gdbstub connection closed")
            self.buf += chunk

    def command(self, body):
        """Sends `$body#checksum`, returns the reply's payload."""
        data = body.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))
        reply = self._packet()
        if reply.startswith("E") and len(reply) == 3:
            raise GdbError("%s: error %s" % (body[:20], reply))
        return reply

    def _ok(self, body):
        reply = self.command(body)
        if reply != "OK":
            raise GdbError("%s: answered %r" % (body[:20], reply))

    def run_to(self, address):
        """Continues until the guest executes `address` (a software
        breakpoint, removed again)."""
        self._ok("Z0,%x,4" % address)
        reply = self.command("c")
        if not reply.startswith(("T", "S")):
            raise GdbError("continue: answered %r" % reply)
        self._ok("z0,%x,4" % address)

    def register(self, index):
        """General register `index` of the 'g' packet, as 64-bit little
        endian (aarch64: x0..x30; riscv64: x0..x31)."""
        regs = bytes.fromhex(self.command("g"))
        return struct.unpack_from("<Q", regs, index * 8)[0]

    def read(self, address, length):
        return bytes.fromhex(self.command("m%x,%x" % (address, length)))

    def write(self, address, data):
        self._ok("M%x,%x:%s" % (address, len(data), data.hex()))

    def detach(self):
        """Detaches; QEMU lets the guest run on."""
        self._ok("D")
        self.sock.close()
