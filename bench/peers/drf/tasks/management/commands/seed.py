"""`manage.py seed`: the benchmark's data set, and the first user's token and task ids."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from tasks.models import Task

LABELS = [[], ["work"], ["home", "errand"], ["work", "urgent"]]


class Command(BaseCommand):
    help = "Create N users with M tasks each; print the first user's token, write its ids."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=2)
        parser.add_argument("--tasks", type=int, default=1000)
        parser.add_argument("--ids-file", required=True)

    @transaction.atomic
    def handle(self, *args, users, tasks, ids_file, **options):
        base = timezone.now() - timedelta(days=1)
        tokens = []
        first_ids = []
        for u in range(users):
            user = get_user_model().objects.create_user(f"bench{u}", f"bench{u}@example.com")
            tokens.append(Token.objects.create(user=user).key)
            # Like the taskhub seed: one second apart, ending a day ago, positions 1..n.
            rows = [
                Task(
                    owner=user,
                    title=f"Seeded task {g}",
                    description=f"Notes for seeded task {g}" if g % 4 == 0 else "",
                    done=g % 5 == 0,
                    priority=g % 5,
                    due_at=base + timedelta(days=g % 90) if g % 3 == 0 else None,
                    labels=LABELS[g % 4],
                    position=g,
                    created_at=base - timedelta(seconds=tasks - g),
                    completed_at=base - timedelta(seconds=tasks - g) if g % 5 == 0 else None,
                )
                for g in range(1, tasks + 1)
            ]
            Task.objects.bulk_create(rows, batch_size=1000)
            if u == 0:
                first_ids = [str(t.id) for t in rows]
        with open(ids_file, "w") as out:
            out.writelines(f"{i}\n" for i in first_ids)
        self.stdout.write(tokens[0])
