from rest_framework import serializers
from tasks.models import Task

# taskhub's task JSON, in its key order: what a client may write, then what the server sets.
_WRITABLE = ("title", "description", "done", "priority", "due_at", "labels")
_SERVER_SET = (
    "project_id",
    "parent_id",
    "position",
    "created_at",
    "updated_at",
    "completed_at",
    "version",
)


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = ["id", *_WRITABLE, *_SERVER_SET]
        read_only_fields = ["id", *_SERVER_SET]
        extra_kwargs = {"priority": {"min_value": 0, "max_value": 4}}
