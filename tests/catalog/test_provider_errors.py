"""catalog.provider_errors: one table from a provider error's class to what the person is told."""

import pytest

from catalog.provider_errors import (
    BUYING,
    CANCELLING,
    CHANGING,
    KEY_CHECK,
    RETRYING,
    WHAT_PROVIDERS_DID,
    ErrorContext,
)
from dashboard.encryption import KeyDecryptionError
from provider import client as protocol

CONTEXTS = {"buying": BUYING, "changing": CHANGING, "key check": KEY_CHECK}


def every_subclass(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from every_subclass(sub)


PROVIDER_ERRORS = sorted(
    {protocol.ProviderError, *every_subclass(protocol.ProviderError)}, key=lambda c: c.__name__
)


@pytest.mark.parametrize("error_class", PROVIDER_ERRORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("context", CONTEXTS.values(), ids=list(CONTEXTS))
def test_every_provider_error_is_a_sentence_naming_the_provider_and_what_happened_here(
    context, error_class
):
    message = context.message(error_class(), "Acme SMS")
    assert "Acme SMS" in message or error_class is protocol.NoNumbers
    assert "Nothing" in message
    assert message.endswith(".")
    assert "{" not in message


def test_the_context_adds_what_it_means_here():
    limited = protocol.RateLimited()
    assert BUYING.message(limited, "Acme") == (
        "Acme is limiting requests right now. Nothing was bought; try again in a few seconds."
    )
    assert CHANGING.message(limited, "Acme") == (
        "Acme is limiting requests right now. Nothing changed; try again in a few seconds."
    )
    assert KEY_CHECK.message(limited, "Acme") == (
        "Acme is limiting requests right now. Nothing was stored; try again in a few seconds."
    )


def test_an_unknown_subclass_gets_its_parents_message():
    class SlowDown(protocol.RateLimited):
        pass

    class SomethingNew(protocol.ProviderError):
        answer = "SOMETHING_NEW"

    assert CHANGING.message(SlowDown(), "Acme") == CHANGING.message(protocol.RateLimited(), "Acme")
    assert CHANGING.message(SomethingNew(), "Acme") == (
        "Acme refused the request (SOMETHING_NEW). Nothing changed."
    )


def test_the_most_specific_class_wins():
    unanswered = protocol.ProviderUnanswered()
    # Buying words "did not answer" its own way: the provider may have sold a number.
    assert "did not answer in time. Nothing was recorded here" in BUYING.message(unanswered, "A")
    # Elsewhere it is its parent's, ProviderUnavailable.
    assert CHANGING.message(unanswered, "A") == CHANGING.message(
        protocol.ProviderUnavailable(), "A"
    )


def test_a_context_words_some_errors_its_own_way_and_keeps_the_others():
    assert RETRYING.message(protocol.BadStatus(), "A") == (
        "A does not allow another SMS for this number now. Nothing changed."
    )
    assert "a code has probably arrived" in CANCELLING.message(protocol.BadStatus(), "A")
    assert RETRYING.message(protocol.Banned(), "A") == CHANGING.message(protocol.Banned(), "A")
    assert KEY_CHECK.message(protocol.BadKey(), "A") == (
        "A rejected this key. Nothing was stored; check it and try again."
    )


def test_an_unreadable_stored_key_is_worded_once():
    assert BUYING.message(KeyDecryptionError(), "A") == (
        "The team's stored key cannot be read. Nothing was bought; an owner or manager should "
        "attach it again on the provider accounts page."
    )


def test_the_table_covers_every_error_the_client_names():
    assert set(PROVIDER_ERRORS) - set(WHAT_PROVIDERS_DID) <= {
        protocol.BadAction,  # the client's own mistakes: the fallback says the provider's word
        protocol.BadLang,
        protocol.NoActivation,  # the moves close the activation; elsewhere the fallback
        protocol.WrongActivationId,
        protocol.ProviderUnanswered,  # a ProviderUnavailable, but for buying
        protocol.InvalidNumber,  # buying cancels it; elsewhere a ProtocolError
    }


def test_a_provider_name_is_not_a_template():
    context = ErrorContext("Nothing changed")
    assert context.message(protocol.Banned(), "{answer} Co") == (
        "{answer} Co has banned the team's account. Nothing changed."
    )
