"""A local HTTP endpoint that takes webhook calls, as a customer's server would: each
call's headers and raw body are kept, in order, for the checks to verify."""
import http.server
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    calls = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Receiver:
    def __init__(self):
        self.calls = []
        handler = type("Handler", (_Handler,), {"calls": self.calls})
        self.server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, seconds=15):
        """The calls received, once at least one has come (or the time is up)."""
        deadline = time.time() + seconds
        while not self.calls and time.time() < deadline:
            time.sleep(0.05)
        return self.calls

    def shutdown(self):
        self.server.shutdown()
