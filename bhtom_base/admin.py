"""Admin: update state per (target, source), photometry rows, survey names and actions on TOM's Target admin.

Actions queue work through django-tasks like the target page's button
(production: ``TASKS_BACKEND=database`` + ``manage.py db_worker``).

Every list, page and action follows the target's own permissions (TOM's
``targets_for_user`` with django-guardian), as the target page does: a staff
user sees only the targets they may view, and acts (update, mark as failed,
delete points) only on those they may change. The global "change target"
permission alone grants nothing on a private target.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.template.response import TemplateResponse
from guardian.shortcuts import get_objects_for_user
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.admin import TargetAdmin as TomTargetAdmin
from tom_targets.admin import TargetExtraInline as TomTargetExtraInline
from tom_targets.models import Target, TargetExtra
from tom_targets.permissions import targets_for_user

from . import brightness
from .credentials import scrub_secrets
from .models import LightcurveUpdateState, UpdateStatus
from .registry import broker_classes
from .scheduling import busy_text, enqueue_pairs, mark_failed
from .sources import data_sources


def viewable_targets(request):
    return targets_for_user(request.user, Target.objects.all(), "view_target")


def changeable_targets(request, targets=None):
    """The targets the user holds "change target" on, per target, as the update button requires.

    (Not ``targets_for_user``: guardian would let the global permission count for every target.)
    """
    targets = Target.objects.all() if targets is None else targets
    return get_objects_for_user(request.user, "tom_targets.change_target", targets, accept_global_perms=False)


def skipped_note(skipped: int) -> str:
    if not skipped:
        return ""
    plural = skipped != 1
    return (f" {skipped} selected target{'s' if plural else ''} left out: "
            f"you may not change {'them' if plural else 'it'}.")


class TargetPermissionMixin:
    """Rows of a model with a ``target`` foreign key, limited to the targets the user may view."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(target__in=viewable_targets(request))

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or request.user.is_superuser:
            return allowed
        return request.user.has_perm("tom_targets.change_target", obj.target)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if obj is None or not allowed or request.user.is_superuser:
            return allowed
        return request.user.has_perm("tom_targets.change_target", obj.target)


@admin.register(LightcurveUpdateState)
class LightcurveUpdateStateAdmin(TargetPermissionMixin, admin.ModelAdmin):
    list_display = ("target", "source", "status", "busy_for", "new_points", "revised_points", "removed_points",
                    "held_removals", "total_points", "last_success", "last_full_fetch", "next_due", "duration",
                    "short_error")
    list_filter = ("source", "status")
    search_fields = ("target__name", "last_error")
    list_select_related = ("target",)
    readonly_fields = [field.name for field in LightcurveUpdateState._meta.fields]
    actions = ["update_now", "accept_removals", "mark_failed"]

    @admin.display(description="last error")
    def short_error(self, state: LightcurveUpdateState) -> str:
        return scrub_secrets(state.last_error)[:120]

    @admin.display(description="queued / running for")
    def busy_for(self, state: LightcurveUpdateState) -> str:
        return busy_text(state)

    @admin.action(description="Mark the selected queued or running updates as failed (their worker is gone)",
                  permissions=["change"])
    def mark_failed(self, request, queryset):
        marked = mark_failed(queryset.filter(target__in=changeable_targets(request)),
                             f"marked as failed by {request.user.get_username()}")
        self.message_user(request, f"Marked {marked} update{'s' if marked != 1 else ''} as failed; "
                                   "they can be queued again now.", messages.SUCCESS)

    @admin.action(description="Update the selected (target, source) pairs now (queued)",
                  permissions=["change"])
    def update_now(self, request, queryset):
        installed = broker_classes()
        allowed = queryset.filter(target__in=changeable_targets(request))
        pairs = [(state.target, state.source) for state in allowed.select_related("target")
                 if state.source in installed]
        count = enqueue_pairs(pairs, force=True)
        skipped = queryset.count() - allowed.count()
        self.message_user(request, f"Queued {count} update{'s' if count != 1 else ''}."
                                   + skipped_note(skipped), messages.SUCCESS)

    @admin.action(description="Accept the removals of the selected held pairs and update them now (queued)",
                  permissions=["change"])
    def accept_removals(self, request, queryset):
        """A person checked the survey: the next update of each held pair applies its answer whatever it removes."""
        installed = broker_classes()
        allowed = queryset.filter(target__in=changeable_targets(request))
        held = allowed.filter(status=UpdateStatus.HELD, source__in=list(installed)).select_related("target")
        pairs = [(state.target, state.source) for state in held]
        if not pairs:
            self.message_user(request, "None of the selected pairs is held.", messages.WARNING)
            return
        LightcurveUpdateState.objects.filter(pk__in=[state.pk for state in held]).update(removals_accepted=True)
        count = enqueue_pairs(pairs, force=True)
        self.message_user(request, f"Removals accepted; queued {count} update{'s' if count != 1 else ''}.",
                          messages.SUCCESS)


# -- photometry rows --------------------------------------------------------------------------

if admin.site.is_registered(PhotometryReducedDatum):
    admin.site.unregister(PhotometryReducedDatum)


@admin.register(PhotometryReducedDatum)
class PhotometryAdmin(TargetPermissionMixin, admin.ModelAdmin):
    list_display = ("target", "timestamp", "source_name", "bandpass", "brightness", "brightness_error",
                    "limit", "telescope")
    list_filter = ("source_name", "bandpass")
    search_fields = ("target__name",)
    list_select_related = ("target",)
    raw_id_fields = ("target", "data_product")
    date_hierarchy = "timestamp"
    show_full_result_count = False  # no second COUNT(*) over millions of rows


# -- survey names and actions on TOM's Target admin --------------------------------------------

class SurveyNameForm(forms.ModelForm):
    class Meta:
        model = TargetExtra
        fields = ("key", "value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sources = data_sources()
        self.fields["key"] = forms.ChoiceField(
            label="Survey", choices=[(name, getattr(source, "pretty_name", name)) for name, source in sources.items()])
        self.fields["value"].label = "Name in the survey"

    def clean(self):
        cleaned = super().clean()
        key, value = cleaned.get("key"), (cleaned.get("value") or "").strip()
        if key and value:
            try:
                cleaned["value"] = data_sources()[key].validate_name(value)
            except ValidationError as error:
                self.add_error("value", error)
        return cleaned


class SurveyNameInline(admin.TabularInline):
    """The target's name in each survey (TargetExtra rows keyed by a source name), validated."""

    model = TargetExtra
    form = SurveyNameForm
    extra = 0
    verbose_name = "survey name"
    verbose_name_plural = "survey names"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(key__in=list(data_sources()))


class OtherExtraForm(forms.ModelForm):
    """TOM's key/value extra; the brightness choice (``bhtom_brightness``) is validated."""

    class Meta:
        model = TargetExtra
        fields = ("key", "value")

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("key") or "").strip() == brightness.BRIGHTNESS_KEY:
            try:
                cleaned["value"] = brightness.validate_brightness(cleaned.get("value"))
            except ValidationError as error:
                self.add_error("value", error)
        return cleaned


class OtherExtraInline(TomTargetExtraInline):
    """TOM's own extras inline (and the brightness choice), without the survey names (edited above)."""

    form = OtherExtraForm

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(key__in=list(data_sources()))


class UpdateStateInline(admin.TabularInline):
    model = LightcurveUpdateState
    extra = 0
    can_delete = False
    fields = ("source", "status", "new_points", "revised_points", "removed_points", "total_points", "last_success",
              "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeleteSourcePointsForm(forms.Form):
    source = forms.ChoiceField(label="Source")


class TargetAdmin(TomTargetAdmin):
    inlines = [SurveyNameInline, OtherExtraInline, UpdateStateInline]
    actions = ["update_lightcurves", "delete_source_points"]
    search_fields = ("name",)

    def get_queryset(self, request):
        return targets_for_user(request.user, super().get_queryset(request), "view_target")

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or request.user.is_superuser:
            return allowed
        return request.user.has_perm("tom_targets.change_target", obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if obj is None or not allowed or request.user.is_superuser:
            return allowed
        return request.user.has_perm("tom_targets.delete_target", obj)

    @admin.action(description="Update lightcurves of the selected targets (queued)", permissions=["change"])
    def update_lightcurves(self, request, queryset):
        sources = sorted(broker_classes())
        allowed = list(changeable_targets(request, queryset))
        count = enqueue_pairs([(target, source) for target in allowed for source in sources], force=True)
        self.message_user(request, f"Queued {count} update{'s' if count != 1 else ''} "
                                   f"({len(allowed)} targets x {len(sources)} sources)."
                                   + skipped_note(queryset.count() - len(allowed)), messages.SUCCESS)

    @admin.action(description="Delete one source's points for the selected targets", permissions=["delete"])
    def delete_source_points(self, request, queryset):
        queryset = changeable_targets(request, queryset)
        points = PhotometryReducedDatum.objects.filter(target__in=queryset)
        counts = dict(points.values_list("source_name").annotate(n=Count("id")).order_by("source_name"))
        form = DeleteSourcePointsForm(request.POST if request.POST.get("confirm") else None)
        form.fields["source"].choices = [(name, f"{name} ({n} points)") for name, n in counts.items()]
        if request.POST.get("confirm") and form.is_valid():
            if not request.user.has_perm("tom_dataproducts.delete_photometryreduceddatum"):
                self.message_user(request, "You may not delete photometry.", messages.ERROR)
                return None
            source = form.cleaned_data["source"]
            with transaction.atomic():
                deleted, _ = points.filter(source_name=source).delete()
                # The next update fetches the whole lightcurve again.
                LightcurveUpdateState.objects.filter(target__in=queryset, source=source).update(
                    status=UpdateStatus.NEVER_RUN, last_success=None, last_point=None, total_points=0,
                    new_points=0, next_due=None)
            self.message_user(request, f"Deleted {deleted} {source} points of {queryset.count()} targets.",
                              messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete one source's points",
            "targets": queryset,
            "form": form,
            "counts": counts,
            "action": "delete_source_points",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "bhtom_base/admin/delete_source_points.html", context)


if admin.site.is_registered(Target):
    admin.site.unregister(Target)
admin.site.register(Target, TargetAdmin)
