"""The team gateway: SMS Desk answers the handler_api protocol to the team's own programs,
with a member's personal token (`dashboard.tokens`) in place of the provider's key."""
