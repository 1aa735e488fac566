import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ipm import roles


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

    @transaction.atomic
    def handle(self, *args, username, role, password=None, email="", first_name="",
               last_name="", **options):
        roles.ensure_role_groups()
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        user.email = email or user.email
        user.first_name = first_name or user.first_name
        user.last_name = last_name or user.last_name
        user.is_staff = roles.ADMIN in role  # admins reach the configuration screens
        if password:
            user.set_password(password)
        elif created:
            if options.get("interactive", True) and self.stdin_isatty():
                pw = getpass.getpass("Password: ")
                if not pw:
                    raise CommandError("A password is required.")
                user.set_password(pw)
            else:
                user.set_unusable_password()
        user.save()
        user.groups.set(Group.objects.filter(name__in=role))
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} with role {', '.join(role)}."))

    @staticmethod
    def stdin_isatty() -> bool:
        return sys.stdin.isatty()
