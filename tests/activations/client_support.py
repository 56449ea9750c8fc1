"""What the protocol client and sandbox tests share: the provider document's own example
answers (copied as they are written there, so that a misreading cannot hide in both the
client and the sandbox), and what they search for a leaked API key in an exception."""

import traceback

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
