"""Asking the provider about one activation: getStatus, or closing it at its expiry.

Each provider account has one pooled AsyncProviderClient per loop; each request takes a
slot of the provider's request budget at `Priority.POLL` (`catalog.upstream` does that).

Expiry: an activation past `expires_at` with no code is cancelled at the provider (refund)
and marked EXPIRED; one with a code is completed there and marked COMPLETED. If the provider
fails, it stays open and is tried again.
"""

from __future__ import annotations

import logging

import httpx
from django.utils import timezone

from activations.models import Activation
from activations.poller.results import Call, Result
from catalog.upstream import async_provider_client, last_sent_at
from dashboard.audit import Action
from dashboard.encryption import KeyDecryptionError
from provider.client import (
    STATUS_CANCEL,
    STATUS_COMPLETE,
    AsyncProviderClient,
    NoActivation,
    ProtocolError,
    ProviderError,
    SetStatusResult,
    Status,
    StatusState,
)

logger = logging.getLogger(__name__)

State = Activation.State
# At most this many requests in flight per provider (its budget usually binds first).
CONCURRENCY = 16


class ExchangeRecorder:
    """Wraps the client's audit hook: remembers each exchange for the poll that made it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: dict[tuple[str, str], Call] = {}

    def __call__(self, action, params, answer, http_status, latency_ms, error):
        self.calls[(action, str(params.get("id", "")))] = Call(
            action, dict(params), answer, http_status, latency_ms, error
        )
        return self.inner(action, params, answer, http_status, latency_ms, error)

    def pop(self, action: str, activation_id: str) -> Call | None:
        return self.calls.pop((action, activation_id), None)


class Polls:
    """One loop's exchanges with providers, through a client per provider account."""

    def __init__(self, request_timeout: float, claim_seconds: float) -> None:
        self.request_timeout = request_timeout
        self.claim_seconds = claim_seconds
        self._clients: dict[int, tuple[AsyncProviderClient, ExchangeRecorder]] = {}

    async def poll(self, result: Result) -> None:
        """Ask the provider about `result.activation`; what it says (or the error) goes into
        `result`, filled as it comes so that a poll cancelled midway keeps what it had."""
        activation = result.activation
        try:
            client, recorder = self._client_for(activation)
            if activation.expires_at <= timezone.now():
                result.expiring = True
                await self._expire(client, recorder, activation, result)
            else:
                status = await self._status(client, recorder, activation, result)
                _read(status, result)
        except (ProviderError, KeyDecryptionError) as error:
            result.error = error
        except Exception as error:  # a bug must not kill the loop; the claim is handed back
            logger.exception("Poller: polling activation %s failed", activation.pk)
            result.error = error

    async def close(self) -> None:
        for client, _recorder in self._clients.values():
            try:
                await client.aclose()
            except Exception:  # closing a broken pool must not hide the results
                logger.debug("closing a provider client failed", exc_info=True)
        self._clients.clear()

    async def _status(self, client, recorder, activation, result) -> Status:
        try:
            return await client.get_status(activation.provider_activation_id)
        finally:
            # The request may have waited seconds for a budget slot after the poll began.
            result.sent_at = last_sent_at() or result.sent_at
            call = recorder.pop(Action.GET_STATUS, activation.provider_activation_id)
            if call is not None:
                result.calls.append(call)

    async def _set_status(self, client, recorder, activation, result, status: int):
        try:
            return await client.set_status(activation.provider_activation_id, status)
        finally:
            call = recorder.pop(Action.SET_STATUS, activation.provider_activation_id)
            if call is not None:
                result.calls.append(call)

    async def _expire(self, client, recorder, activation: Activation, result: Result) -> None:
        """Close at the provider what outlived its lifetime: complete with a code, else cancel.

        A last getStatus first, so that a code that arrived at the last moment is kept (and
        the activation completed rather than cancelled).
        """
        try:
            status = await self._status(client, recorder, activation, result)
        except NoActivation:
            # The provider has forgotten it (closed there): nothing to cancel or complete.
            result.close_as = State.COMPLETED if activation.codes else State.EXPIRED
            return
        _read(status, result)
        if result.close_as:
            return
        has_code = bool(activation.codes or result.code)
        try:
            answer = await self._set_status(
                client,
                recorder,
                activation,
                result,
                STATUS_COMPLETE if has_code else STATUS_CANCEL,
            )
        except NoActivation:
            result.close_as = State.COMPLETED if has_code else State.EXPIRED
            return
        # Any other refusal (BAD_STATUS: a code probably arrived just now) raises: the
        # activation stays open and the next try reads the code first.
        if answer == SetStatusResult.ACTIVATION:
            result.close_as = State.COMPLETED
        elif answer == SetStatusResult.CANCEL:
            result.close_as = State.EXPIRED
        else:
            raise ProtocolError("Unexpected answer to an expiry.", raw=answer.value)

    def _client_for(self, activation: Activation) -> tuple[AsyncProviderClient, ExchangeRecorder]:
        entry = self._clients.get(activation.account_id)
        if entry is None:
            account = activation.account  # loaded with provider and team by the claim
            client = async_provider_client(
                account,
                timeout=self.request_timeout,
                # The budget wait included: a poll ends (and is written) well within its claim.
                deadline=self.claim_seconds / 2,
                # Errors are audited by the client's hook; changes are audited by the flush.
                audit_actions=frozenset({Action.GET_NUMBER, Action.GET_BALANCE}),
                limits=httpx.Limits(
                    max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY
                ),
            )
            recorder = ExchangeRecorder(client.on_exchange)
            client.on_exchange = recorder
            entry = self._clients[activation.account_id] = (client, recorder)
        return entry


def _read(status: Status, result: Result) -> None:
    if status.state == StatusState.OK and status.code:
        result.code = status.code
    elif status.state == StatusState.CANCEL:
        result.close_as = State.CANCELLED
    # WAIT_CODE, WAIT_RESEND, WAIT_RETRY: nothing new.
