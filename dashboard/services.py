"""Team membership rules: team details, invitations, roles, removing members and leaving.

Each change runs in one transaction that first locks the team's row, so two owners acting at
once can never leave a team without an owner, and writes its audit row in that transaction.

Who may do what:
- owners change anything; managers manage members and viewers only (they cannot invite,
  promote to, demote from or remove the owner and manager roles);
- a team always keeps at least one owner: its last owner cannot leave, be demoted or removed.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.access import require_role, require_same_team
from dashboard.audit import Action, record_by
from dashboard.models import MANAGERS, Invitation, Membership, Role, Team
from dashboard.teams import lock_team

log = logging.getLogger(__name__)


# The roles a manager (not an owner) may hand out or take away.
MANAGER_GRANTABLE = frozenset({Role.MEMBER, Role.VIEWER})


class TeamRuleError(Exception):
    """A change the team's rules do not allow; the message is meant for the user."""


class InvitationError(TeamRuleError):
    """An invitation that cannot be accepted (expired, used, revoked or someone else's)."""


def may_manage(acting: Membership, *roles: str) -> bool:
    """Whether acting may grant or take away each of roles."""
    if acting.role == Role.OWNER:
        return True
    return acting.role == Role.MANAGER and all(role in MANAGER_GRANTABLE for role in roles)


def _check_may_manage(acting: Membership, *roles: str) -> None:
    """Raise PermissionDenied unless acting may grant or take away each of roles."""
    if not may_manage(acting, *roles):
        raise PermissionDenied(
            _("Only an owner may give or take away the owner and manager roles.")
        )


def _require_manager_of(acting: Membership, target, why: str) -> None:
    """PermissionDenied unless acting is an owner or manager of target's team."""
    require_same_team(acting, target, why)
    require_role(acting, MANAGERS, why)


def _lock_and_reload(acting: Membership, target: Membership) -> tuple[Team, Membership]:
    """The team locked, and target as it is now that no one else can change it."""
    team = lock_team(acting.team)
    return team, Membership.objects.select_related("user").get(pk=target.pk)


def only_owner_id(team: Team) -> int | None:
    """The membership id of the team's only owner; None when it has several.

    A team always keeps an owner, so its only owner cannot leave, be demoted or removed: the
    changes below refuse it (`_keep_an_owner`) and the settings page does not offer it."""
    owners = Membership.objects.filter(team=team, role=Role.OWNER).values_list("pk", flat=True)
    found = list(owners[:2])
    return found[0] if len(found) == 1 else None


def _keep_an_owner(team: Team, membership: Membership, refusal: str) -> None:
    """TeamRuleError(refusal) when membership is the team's last owner."""
    if membership.pk == only_owner_id(team):
        raise TeamRuleError(refusal)


def _audit_member_change(acting, action: str, target: Membership, ip, **details) -> None:
    record_by(
        acting,
        action,
        obj=target,
        ip=ip,
        member=target.user.get_username(),
        **details,
    )


def roles_grantable_by(membership: Membership) -> list[tuple[str, str]]:
    """The (value, label) role choices this member may hand out, for forms."""
    return [(value, label) for value, label in Role.choices if may_manage(membership, value)]


def may_change_role(acting: Membership, target: Membership, only_owner: int | None) -> bool:
    """Whether `change_role` may change target's role (an owner's own role included), with
    `only_owner` the team's `only_owner_id`: what the settings page offers."""
    return target.pk != only_owner and may_manage(acting, target.role)


def may_remove(acting: Membership, target: Membership, only_owner: int | None) -> bool:
    """Whether `remove_member` may remove target (someone else; leaving is `leave_team`),
    with `only_owner` the team's `only_owner_id`: what the settings page offers."""
    return target.pk not in (acting.pk, only_owner) and may_manage(acting, target.role)


@transaction.atomic
def update_team(
    *,
    acting: Membership,
    name: str,
    time_zone: str,
    members_see_reports: bool,
    currency: str,
    ip: str | None = None,
) -> Team:
    require_role(acting, MANAGERS, _("Only owners and managers change the team's details."))
    team = lock_team(acting.team)
    new = {
        "name": name,
        "time_zone": time_zone,
        "currency": currency,
        "members_see_reports": members_see_reports,
    }
    changed = {field: value for field, value in new.items() if getattr(team, field) != value}
    if changed:
        for field, value in changed.items():
            setattr(team, field, value)
        team.save(update_fields=list(changed))
        record_by(acting, Action.TEAM_UPDATED, obj=team, ip=ip, **changed)
    return team


@transaction.atomic
def invite_member(
    *, acting: Membership, email: str, role: str, ip: str | None = None
) -> Invitation:
    """A new invitation link; a pending invitation to the same address is replaced."""
    require_role(acting, MANAGERS, _("Only owners and managers invite people."))
    _check_may_manage(acting, role)
    team = lock_team(acting.team)
    email = email.strip().lower()
    if Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise TeamRuleError(
            _("%(email)s is already a member of %(team)s.") % {"email": email, "team": team.name}
        )
    now = timezone.now()
    team.invitations.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    invitation = Invitation.objects.create(
        team=team, email=email, role=role, invited_by=acting.user
    )
    record_by(
        acting,
        Action.MEMBER_INVITED,
        obj=invitation,
        ip=ip,
        email=email,
        role=role,
    )
    return invitation


def send_invitation_email(invitation: Invitation, link: str) -> bool:
    """Email the invitation link; False (and a log line) when the mail server refuses."""
    inviter = invitation.invited_by.get_username() if invitation.invited_by else _("A team owner")
    expires = timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M %Z")
    # In the language of the page the invitation was sent from (the inviting person's).
    # Translators: the role is lowercase ("as manager"); keep the blank lines.
    body = _(
        "%(inviter)s invited you to join the team %(team)s on SMS Desk as %(role)s.\n\n"
        "Open this link to accept (it works once, until %(expires)s):\n\n%(link)s\n"
    ) % {
        "inviter": inviter,
        "team": invitation.team.name,
        "role": invitation.get_role_display().lower(),
        "expires": expires,
        "link": link,
    }
    try:
        send_mail(
            _("Join %(team)s on SMS Desk") % {"team": invitation.team.name},
            body,
            settings.DEFAULT_FROM_EMAIL,
            [invitation.email],
        )
    except Exception:
        log.exception("Could not email invitation %s", invitation.pk)
        return False
    return True


@transaction.atomic
def revoke_invitation(*, acting: Membership, invitation: Invitation, ip: str | None = None) -> None:
    _require_manager_of(acting, invitation, _("Only owners and managers revoke invitations."))
    _check_may_manage(acting, invitation.role)
    lock_team(acting.team)
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise TeamRuleError(
            _("The invitation of %(email)s is no longer pending.") % {"email": invitation.email}
        )
    record_by(
        acting,
        Action.INVITATION_REVOKED,
        obj=invitation,
        ip=ip,
        email=invitation.email,
    )


def invitation_problem(invitation: Invitation, user: User | None = None) -> str | None:
    """Why this invitation cannot be accepted (by user, when given), or None."""
    if invitation.revoked_at is not None:
        return _("This invitation was revoked. Ask the team for a new one.")
    if invitation.accepted_at is not None:
        return _("This invitation has already been used. Ask the team for a new one.")
    if invitation.is_expired:
        return _("This invitation has expired. Ask the team for a new one.")
    if user is not None and user.is_authenticated and not emails_match(user, invitation):
        return _(
            "This invitation is for %(email)s, but you are signed in as %(user)s. "
            "Sign out, then open the link again."
        ) % {"email": invitation.email, "user": user.get_username()}
    return None


def emails_match(user: User, invitation: Invitation) -> bool:
    return bool(user.email) and user.email.strip().lower() == invitation.email.strip().lower()


@transaction.atomic
def accept_invitation(*, invitation: Invitation, user: User, ip: str | None = None) -> Membership:
    """Make user a member with the invited role; the invitation is used up."""
    invitation = Invitation.objects.select_for_update().select_related("team").get(pk=invitation.pk)
    problem = invitation_problem(invitation, user)
    if problem:
        raise InvitationError(problem)
    team = lock_team(invitation.team)
    membership, created = Membership.objects.get_or_create(
        team=team, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if created:
        record_by(
            membership,
            Action.MEMBER_JOINED,
            obj=membership,
            ip=ip,
            role=membership.role,
            invitation=invitation.pk,
        )
    return membership


@transaction.atomic
def change_role(
    *, acting: Membership, target: Membership, role: str, ip: str | None = None
) -> Membership:
    _require_manager_of(acting, target, _("Only owners and managers change roles."))
    _check_may_manage(acting, target.role, role)
    team, target = _lock_and_reload(acting, target)
    if target.role == role:
        return target
    _keep_an_owner(
        team,
        target,
        _("%(user)s is the team's last owner. Make someone else an owner first.")
        % {"user": target.user.get_username()},
    )
    old_role = target.role
    target.role = role
    target.save(update_fields=["role"])
    _audit_member_change(acting, Action.ROLE_CHANGED, target, ip, old_role=old_role, new_role=role)
    return target


@transaction.atomic
def remove_member(*, acting: Membership, target: Membership, ip: str | None = None) -> None:
    _require_manager_of(acting, target, _("Only owners and managers remove members."))
    if target.pk == acting.pk:
        raise TeamRuleError(_("To leave the team yourself, use “Leave team”."))
    _check_may_manage(acting, target.role)
    team, target = _lock_and_reload(acting, target)
    _keep_an_owner(
        team, target, _("%(user)s is the team's last owner.") % {"user": target.user.get_username()}
    )
    _audit_member_change(acting, Action.MEMBER_REMOVED, target, ip, role=target.role)
    target.delete()


@transaction.atomic
def leave_team(*, membership: Membership, ip: str | None = None) -> None:
    team = lock_team(membership.team)
    membership = Membership.objects.get(pk=membership.pk)
    _keep_an_owner(
        team,
        membership,
        _(
            "You are the team's last owner, so you cannot leave it. "
            "Make someone else an owner first."
        ),
    )
    record_by(
        membership,
        Action.MEMBER_LEFT,
        obj=membership,
        ip=ip,
        role=membership.role,
    )
    membership.delete()
