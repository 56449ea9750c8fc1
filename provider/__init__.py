"""provider: a client for SMS-activation providers that speak the handler_api protocol, and
an in-memory sandbox provider that speaks it too.

The public API is `provider.client`; everything below is importable from there:

- `ProviderClient` (sync) and `AsyncProviderClient` (async): every action of the provider
  document (getBalance, getCountryAndOperators, getServicesAndCost, getNumber, setStatus,
  getStatus), each call within a total deadline, answers capped in size;
- the answers they return (`Listing` of `Country` / `ServiceOffer`, `Number`, `Status` with
  `StatusState`, `SetStatusResult`), checked as untrusted input against `bounds` that fit the
  database columns they end up in; `storable()` for provider text kept anywhere;
- the typed errors (`ProviderError` and one class an error word: `NoBalance`, `BadStatus`...;
  `ProviderUnavailable`, `ProviderUnanswered`, `RateLimited`, `ProtocolError`,
  `InvalidNumber`), `Exchange` records for auditing, and `RedactApiKeys`, the logging filter
  that keeps API keys out of log lines;
- the setStatus numbers `STATUS_RETRY`, `STATUS_COMPLETE`, `STATUS_CANCEL`.

`provider.sandbox` is the sandbox provider (`provider.sandbox.rules.Sandbox`, served over
HTTP by `provider.sandbox.server.SandboxServer`), with injectable faults
(`provider.sandbox.faults`) and the document's annexes as its catalog
(`provider/sandbox/data/`).

Plain Python: it depends only on httpx (and httpcore, which httpx uses) and imports no
Django and no application code, so it could be published on its own.
"""
