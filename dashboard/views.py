"""Team-level pages: choosing a team, team settings and invitations (the team's home page is
`activations.home`; its URL is named "activations:home")."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dashboard import services
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.audit import client_ip
from dashboard.confirm import needs_confirmation
from dashboard.display import activate_zone
from dashboard.forms import (
    AccountSettingsForm,
    InvitationSignUpForm,
    InviteForm,
    RateLimitedAuthenticationForm,
    RoleForm,
    TeamDetailsForm,
)
from dashboard.languages import chosen_language, remember_language, set_language_cookie
from dashboard.models import EVERYONE, MANAGERS, Invitation, Membership, Profile


class SignInView(LoginView):
    authentication_form = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        """Signed in: the person's own language, if they chose one, for this browser too."""
        response = super().form_valid(form)
        language = chosen_language(form.get_user())
        if language:
            set_language_cookie(response, language)
        return response


def choose_team(request: AuthenticatedHttpRequest):
    """Open the team the user worked in last, the only team, or let them pick one."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("team"))
    slugs = {m.team.slug for m in memberships}
    wanted = request.GET.get("team") or request.session.get("team_slug")
    if wanted in slugs:
        return redirect("activations:home", team_slug=wanted)
    if len(memberships) == 1:
        return redirect("activations:home", team_slug=memberships[0].team.slug)
    return render(request, "dashboard/choose_team.html", {"choices": memberships})


def _settings_page(request, membership: Membership, *, details_form=None, invite_form=None):
    team = membership.team
    roles = services.roles_grantable_by(membership)
    members = team.memberships.select_related("user").order_by("user__username")
    only_owner = services.only_owner_id(team)  # keeps the role, and the team
    context = {
        "membership": membership,
        "members": [
            {
                "membership": m,
                "is_me": m.pk == membership.pk,
                "can_change_role": services.may_change_role(membership, m, only_owner),
                "can_remove": services.may_remove(membership, m, only_owner),
            }
            for m in members
        ],
        "roles": roles,
        "only_owner": membership.pk == only_owner,
    }
    if membership.is_manager:
        context["details_form"] = details_form or TeamDetailsForm(instance=team)
        context["invite_form"] = invite_form or InviteForm(roles=roles)
        context["invitations"] = [
            {
                "invitation": i,
                "link": request.build_absolute_uri(i.get_absolute_url()),
                "can_revoke": services.may_manage(membership, i.role),
            }
            for i in team.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
            .select_related("invited_by")
            .order_by("-created_at")
        ]
    status = 400 if (details_form or invite_form) else 200
    return render(request, "dashboard/settings.html", context, status=status)


@require_safe
def team_settings(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug)
    return _settings_page(request, membership)


@require_POST
def update_team(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    form = TeamDetailsForm(request.POST, instance=membership.team)
    if not form.is_valid():
        # The form's save would touch the instance; reload it so the page shows stored values.
        membership.team.refresh_from_db()
        return _settings_page(request, membership, details_form=form)
    services.update_team(acting=membership, ip=client_ip(request), **form.cleaned_data)
    messages.success(request, _("Team details saved."))
    return redirect("team_settings", team_slug=team_slug)


@require_POST
def invite_member(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    form = InviteForm(request.POST, roles=services.roles_grantable_by(membership))
    if not form.is_valid():
        return _settings_page(request, membership, invite_form=form)
    try:
        invitation = services.invite_member(
            acting=membership,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            ip=client_ip(request),
        )
    except services.TeamRuleError as error:
        messages.error(request, str(error))
        return redirect("team_settings", team_slug=team_slug)
    link = request.build_absolute_uri(invitation.get_absolute_url())
    if services.send_invitation_email(invitation, link):
        messages.success(
            request,
            _("Invitation sent to %(email)s. You can also copy its link below.")
            % {"email": invitation.email},
        )
    else:
        messages.warning(
            request,
            _(
                "The invitation email to %(email)s could not be sent; "
                "copy the link below and send it yourself."
            )
            % {"email": invitation.email},
        )
    return redirect("team_settings", team_slug=team_slug)


def _carry_out[T](request, change: Callable[[], T], said: Callable[[T], str]) -> T | None:
    """Make a change the team's rules may refuse; the refusal, or `said` of its result, is
    the page's message. None when refused."""
    try:
        result = change()
    except services.TeamRuleError as error:
        messages.error(request, str(error))
        return None
    messages.success(request, said(result))
    return result


def _settings_url(team_slug: str) -> str:
    return reverse("team_settings", kwargs={"team_slug": team_slug})


def _team_member(membership: Membership, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, team=membership.team
    )


@require_POST
def revoke_invitation(request: AuthenticatedHttpRequest, team_slug: str, invitation_id: int):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    invitation = get_object_or_404(Invitation, pk=invitation_id, team=membership.team)
    # Not pending any more, or not this person's to revoke: the service says why without asking.
    if invitation.is_pending and services.may_manage(membership, invitation.role):
        asked = needs_confirmation(
            request, "revoke_invitation", back=_settings_url(team_slug), invitation=invitation
        )
        if asked:
            return asked
    _carry_out(
        request,
        lambda: services.revoke_invitation(
            acting=membership, invitation=invitation, ip=client_ip(request)
        ),
        lambda result: _("The invitation of %(email)s was revoked.") % {"email": invitation.email},
    )
    return redirect("team_settings", team_slug=team_slug)


@require_POST
def change_role(request: AuthenticatedHttpRequest, team_slug: str, membership_id: int):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    target = _team_member(membership, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect("team_settings", team_slug=team_slug)
    changed = _carry_out(
        request,
        lambda: services.change_role(
            acting=membership, target=target, role=form.cleaned_data["role"], ip=client_ip(request)
        ),
        lambda changed: (
            # Translators: the role is lowercase: "anna is now manager."
            _("%(user)s is now %(role)s.")
            % {"user": changed.user.get_username(), "role": changed.get_role_display().lower()}
        ),
    )
    target = changed or target
    if target.pk == membership.pk and target.role not in MANAGERS:
        # An owner who made themselves a member can no longer open the settings' forms.
        return redirect("activations:home", team_slug=team_slug)
    return redirect("team_settings", team_slug=team_slug)


@require_POST
def remove_member(request: AuthenticatedHttpRequest, team_slug: str, membership_id: int):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    target = _team_member(membership, membership_id)
    if services.may_remove(membership, target, services.only_owner_id(membership.team)):
        asked = needs_confirmation(
            request, "remove_member", back=_settings_url(team_slug), member=target, team=target.team
        )
        if asked:
            return asked
    _carry_out(
        request,
        lambda: services.remove_member(acting=membership, target=target, ip=client_ip(request)),
        lambda result: (
            _("%(user)s was removed from the team.") % {"user": target.user.get_username()}
        ),
    )
    return redirect("team_settings", team_slug=team_slug)


@require_POST
def leave_team(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=EVERYONE)
    if membership.pk != services.only_owner_id(membership.team):
        asked = needs_confirmation(
            request, "leave_team", back=_settings_url(team_slug), team=membership.team
        )
        if asked:
            return asked
    try:
        services.leave_team(membership=membership, ip=client_ip(request))
    except services.TeamRuleError as error:
        messages.error(request, str(error))
        return redirect("team_settings", team_slug=team_slug)
    request.session.pop("team_slug", None)
    messages.success(request, _("You left %(team)s.") % {"team": membership.team.name})
    return redirect("home")


@require_http_methods(["GET", "HEAD", "POST"])
def account_settings(request: AuthenticatedHttpRequest):
    """A person's own settings: their time zone (empty: each team's own); a link to change
    their password."""
    profile = Profile.objects.filter(user=request.user).first() or Profile(user=request.user)
    form = AccountSettingsForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        language = form.cleaned_data["language"]
        if language:
            translation.activate(language)
        messages.success(request, _("Your settings were saved."))
        response = redirect("account_settings")
        if language:
            set_language_cookie(response, language)
        else:  # as the browser asks
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    activate_zone(request.user, None)
    context = {"form": form, "profile": profile, "now": timezone.now()}
    return render(request, "dashboard/account.html", context, status=400 if form.errors else 200)


@login_not_required
@require_POST
def choose_language(request: HttpRequest):
    """The language switch (sign-in page and menu): Django's set_language (the cookie, then
    back to the page), and for a signed-in person their own choice, kept on their profile."""
    response = i18n.set_language(request)
    language = request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER, "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        remember_language(request.user, language)
    return response


@login_not_required
def accept_invitation(request: HttpRequest, token: str):
    """The invitation link: sign up or sign in, then join the team."""
    invitation = Invitation.objects.select_related("team", "invited_by").filter(token=token).first()
    if invitation is None:
        problem = _("This invitation link is not valid. Check that it was copied whole.")
        return render(request, "dashboard/invitation.html", {"problem": problem}, status=404)
    user = request.user
    if user.is_authenticated and invitation.accepted_by_id == user.pk:
        messages.info(
            request, _("You have already joined %(team)s.") % {"team": invitation.team.name}
        )
        return redirect("home")
    problem = services.invitation_problem(invitation, user)
    activate_zone(user if user.is_authenticated else None, invitation.team)
    context = {"invitation": invitation, "problem": problem}
    if problem:
        wrong_user = invitation.is_usable and user.is_authenticated
        return render(
            request, "dashboard/invitation.html", context, status=403 if wrong_user else 410
        )

    signup_form = None
    if not user.is_authenticated:
        signup_form = InvitationSignUpForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and (signup_form is None or signup_form.is_valid()):
        try:
            # A new account exists only if joining the team succeeds.
            with transaction.atomic():
                if signup_form is not None:
                    user = signup_form.save()
                membership = services.accept_invitation(
                    invitation=invitation, user=user, ip=client_ip(request)
                )
        except services.InvitationError as error:
            context["problem"] = str(error)
            return render(request, "dashboard/invitation.html", context, status=410)
        if signup_form is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to %(team)s.") % {"team": membership.team.name})
        return redirect("activations:home", team_slug=membership.team.slug)

    context["signup_form"] = signup_form
    context["login_url"] = f"{reverse('login')}?next={invitation.get_absolute_url()}"
    status = 400 if signup_form is not None and signup_form.is_bound else 200
    return render(request, "dashboard/invitation.html", context, status=status)


@login_not_required
@require_safe
def favicon(request: HttpRequest):
    """/favicon.ico, which browsers ask for on their own: the icon the pages link to."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
