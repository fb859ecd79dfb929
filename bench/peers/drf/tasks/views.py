"""Generic views over the caller's own tasks: list + create, and retrieve one."""

from django.db import transaction
from django.db.models import Max
from rest_framework import generics
from tasks.models import Task
from tasks.serializers import TaskSerializer


class OwnTasks:
    """Every query starts from the caller's tasks: another user's id is a 404."""

    serializer_class = TaskSerializer

    def get_queryset(self):
        return Task.objects.filter(owner=self.request.user)


class TaskList(OwnTasks, generics.ListCreateAPIView):
    def perform_create(self, serializer):
        # New tasks go last in the owner's inbox, as in taskhub.
        with transaction.atomic():
            last = Task.objects.filter(owner=self.request.user).aggregate(m=Max("position"))["m"]
            serializer.save(owner=self.request.user, position=(last or 0) + 1)


class TaskDetail(OwnTasks, generics.RetrieveAPIView):
    pass
