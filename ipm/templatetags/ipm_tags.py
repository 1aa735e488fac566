from django import template

register = template.Library()


@register.filter
def staff_name(user, fallback: str = "—") -> str:
    """A staff member's full name, else username, else the fallback (for a missing user).

    `{{ x.get_full_name|default:x.username }}` raises when x is None (a filter argument
    that fails to resolve is an error in Django templates); this does not."""
    if user is None or user == "":
        return fallback
    return user.get_full_name() or user.username
