"""Who may see and who may update a target's lightcurve, by TOM Toolkit's own rules.

Viewing follows ``TargetDetailView``: ``tom_targets.permissions.targets_for_user``
with ``view_target`` (open targets for everyone, public ones for logged-in users,
private ones by django-guardian object permission; ``AUTH_STRATEGY = LOCKED`` is
enforced before any view by TOM's middleware). Updating needs a logged-in user
holding ``tom_targets.change_target`` on that target (guardian object
permission; superusers hold every permission).
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from tom_targets.models import Target
from tom_targets.permissions import targets_for_user


def viewable_target(user, pk: int) -> Target:
    """The target, or 404 when it does not exist, 403 when the user may not see it (as TOM does)."""
    target = targets_for_user(user, Target.objects.filter(pk=pk), "view_target").first()
    if target is not None:
        return target
    if Target.objects.filter(pk=pk).exists():
        raise PermissionDenied("You do not have permission to view this target.")
    raise Http404("No such target.")


def can_update(user, target: Target) -> bool:
    return bool(user.is_authenticated and user.has_perm("tom_targets.change_target", target))


def updatable_target(user, pk: int) -> Target:
    """The target if the user may change it; 403 otherwise (404 only for a target nobody can see)."""
    target = Target.objects.filter(pk=pk).first()
    if target is None:
        raise Http404("No such target.")
    if not can_update(user, target):
        raise PermissionDenied("You may not update this target's lightcurves.")
    return target
