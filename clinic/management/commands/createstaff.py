import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ipm import accounts, roles
from ipm.errors import InvalidInput
from patients.models import Program


class Command(BaseCommand):
    help = "Create (or update) a staff user with a role: createstaff USERNAME --role ROLE [--password P]"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=roles.ROLES, action="append",
                            help="clinician, coordinator or admin (repeat for several)")
        parser.add_argument("--password", help="omit to be asked (or to set an unusable one)")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--site", action="append", default=[], metavar="CODE",
                            help="site code (repeat for several; default: the first site)")

    @transaction.atomic
    def handle(self, *args, username, role, password=None, email="", first_name="",
               last_name="", site=(), **options):
        roles.ensure_role_groups()
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        user.email = email or user.email
        user.first_name = first_name or user.first_name
        user.last_name = last_name or user.last_name
        user.is_staff = roles.ADMIN in role  # admins reach the configuration screens
        user.save()
        if not password and created and options.get("interactive", True) and self.stdin_isatty():
            password = getpass.getpass("Password: ")
            if not password:
                raise CommandError("A password is required.")
        if password:
            # Django's validators run here too; a refusal rolls the whole command back.
            try:
                accounts.user_password_set(user=user, password=password)
            except InvalidInput as exc:
                raise CommandError("Password refused: " + " ".join(exc.errors["password"]))
        elif created:
            accounts.user_password_set(user=user, password=None)
        user.groups.set(Group.objects.filter(name__in=role))
        sites = _sites(site)
        user.sites.add(*sites)
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} with role {', '.join(role)}."))

    @staticmethod
    def stdin_isatty() -> bool:
        return sys.stdin.isatty()


def _sites(codes):
    program = Program.default()
    if not codes:
        return [program.sites.order_by("pk").first()]
    found = {s.code: s for s in program.sites.filter(code__in=codes)}
    missing = sorted(set(codes) - set(found))
    if missing:
        raise CommandError(f"Unknown site code(s): {', '.join(missing)}. "
                           f"Known: {', '.join(program.sites.values_list('code', flat=True))}.")
    return list(found.values())
