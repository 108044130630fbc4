from django.apps import AppConfig


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        """A token created, revoked or deleted changes who a request is: what token
        authentication remembered is forgotten everywhere (``tenants.access_memory``)."""
        from django.db.models.signals import post_delete, post_save

        from portal.models import ApiToken
        from tenants.access_memory import changed

        post_save.connect(changed, sender=ApiToken, dispatch_uid="access-apitoken")
        post_delete.connect(changed, sender=ApiToken, dispatch_uid="access-del-apitoken")

        # A sign-in starts the session's clocks afresh (portal.sessions).
        from django.contrib.auth.signals import user_logged_in

        from portal.sessions import session_started

        user_logged_in.connect(session_started, dispatch_uid="portal-session-started")

        # Failed sign-ins are counted wherever a password is given (portal.lockout).
        from django.contrib.auth.signals import user_login_failed

        from portal.lockout import on_logged_in, on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="portal-lockout-failed")
        user_logged_in.connect(on_logged_in, dispatch_uid="portal-lockout-cleared")

        # Who has a second factor is remembered with access (portal.two_factor): a device
        # added or removed is seen by every process at its next request.
        from django_otp.plugins.otp_totp.models import TOTPDevice

        def device_changed(sender, created: bool = False, update_fields=None, **kwargs) -> None:
            # Not every save: verifying a code saves the device's counters.
            if created or "confirmed" in (update_fields or ()):
                changed(sender)

        post_save.connect(device_changed, sender=TOTPDevice, dispatch_uid="access-totp",
                          weak=False)  # fmt: skip
        post_delete.connect(changed, sender=TOTPDevice, dispatch_uid="access-del-totp")
        from portal.two_factor import standing_at_sign_in

        user_logged_in.connect(standing_at_sign_in, dispatch_uid="portal-second-factor")

        # The person's time zone and language, read once per sign-in (portal.preferences).
        from portal.preferences import preferences_at_sign_in

        user_logged_in.connect(preferences_at_sign_in, dispatch_uid="portal-preferences")

        # English messages are not looked up in six empty catalogues each (portal.i18n).
        from portal.i18n import trim_translation_chains

        trim_translation_chains()
