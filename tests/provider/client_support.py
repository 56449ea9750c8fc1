"""What the protocol client and sandbox tests share: the provider document's own example
answers (copied as they are written there, so that a misreading cannot hide in both the
client and the sandbox), and what they search for a leaked API key in an exception."""

import socket
import threading
import time
import traceback
from contextlib import contextmanager

# The provider document's example answers (provider-api-doc.txt), as written there.
DOC_BALANCE = "463.02"
DOC_COUNTRIES = (
    '[{"id":0,"name":"Россия","operators":{"any":"any","tele2":"tele2","tinkoff":"tinkoff",'
    '"ttk":"ttk","yota":"yota"}},{"id":1,"name":"Украина","operators":{"any":"any",'
    '"kyivstar":"kyivstar","life":"life","lycamobile":"lycamobile","mts":"mts","utel":"utel",'
    '"vodafone":"vodafone"}}]'
)
DOC_SERVICES = (
    '[{"id":"vk","name":"Вконтакте","price":29.88,"quantity":"19"},{"id":"ok","name":"Ok.ru",'
    '"price":1.34,"quantity":"2776"},{"id":"wa","name":"Whatsapp","price":0,"quantity":"0"}]'
)
DOC_NUMBER = "ACCESS_NUMBER:234242:79991728822"


def chain_text(exc: BaseException) -> str:
    """Every message, repr, argument and traceback line of an exception and its cause/context
    chain, with the answer details a client error carries (raw text, ban end, answer)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), *traceback.format_exception(exc), *map(str, exc.args)]
        parts += [repr(getattr(exc, name, "")) for name in ("raw", "until", "answer")]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


@contextmanager
def trickling_server(answer: bytes, every: float = 0.05, for_at_most: float = 10.0):
    """A loopback HTTP server that sends `answer` one byte every `every` seconds (for at most
    `for_at_most` seconds), so each read gets a byte long before any read timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            ends = time.monotonic() + for_at_most
            for byte in answer:
                if stop.is_set() or time.monotonic() > ends:
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                stop.wait(every)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/stubs/handler_api"
    finally:
        stop.set()
        server.join()
        listener.close()
