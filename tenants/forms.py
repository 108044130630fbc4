"""Forms of the tenancy pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provisioning.forms import ISO_DATE_ATTRS
from tenants.delegations import delegate_candidates


class DelegationForm(forms.Form):
    """Out of office: who decides in one's place, from which day to which day (inclusive, in
    the person's own time zone)."""

    delegate = forms.ModelChoiceField(
        queryset=None,
        label=_("Who decides in your place"),
        help_text=_("A member of a tenant where you approve."),
    )
    starts_on = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs=ISO_DATE_ATTRS),
        help_text=_("YYYY-MM-DD: from the start of that day."),
    )
    ends_on = forms.DateField(
        label=_("Until"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs=ISO_DATE_ATTRS),
        help_text=_("YYYY-MM-DD: to the end of that day."),
    )
    reason = forms.CharField(
        label=_("Why"), max_length=200, required=False, help_text=_("Optional, e.g. leave.")
    )

    def __init__(self, *args, delegator, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = delegate_candidates(delegator)
        self.fields["delegate"].label_from_instance = lambda u: (
            f"{u.get_full_name()} ({u.get_username()})" if u.get_full_name() else u.get_username()
        )

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day cannot come before the first."))
        return data

    def period(self) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) in the person's zone."""
        zone = timezone.get_current_timezone()
        starts = datetime.combine(self.cleaned_data["starts_on"], time.min, tzinfo=zone)
        ends = datetime.combine(
            self.cleaned_data["ends_on"] + timedelta(days=1), time.min, tzinfo=zone
        )
        return starts, ends
