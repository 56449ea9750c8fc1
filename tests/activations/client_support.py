"""What the protocol client tests search for a leaked API key in an exception."""

import traceback


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
