from django.contrib import admin

from .models import LightcurveUpdateState


@admin.register(LightcurveUpdateState)
class LightcurveUpdateStateAdmin(admin.ModelAdmin):
    list_display = ("target", "source", "status", "new_points", "total_points", "last_success",
                    "next_due", "duration", "short_error")
    list_filter = ("source", "status")
    search_fields = ("target__name", "last_error")
    list_select_related = ("target",)
    readonly_fields = [field.name for field in LightcurveUpdateState._meta.fields]
    actions = ["queue_update"]

    @admin.action(description="Queue an update of the selected pairs")
    def queue_update(self, request, queryset) -> None:
        from .scheduling import enqueue_pairs

        pairs = [(state.target, state.source) for state in queryset.select_related("target")]
        self.message_user(request, f"Queued {enqueue_pairs(pairs)} updates.")

    @admin.display(description="last error")
    def short_error(self, state: LightcurveUpdateState) -> str:
        return state.last_error[:120]
