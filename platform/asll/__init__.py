"""ASLL platform core: ``create_app`` is the application factory."""


def create_app(*args, **kwargs):
    from asll.app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app"]
