from rest_framework import serializers
from tasks.models import Task


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "done",
            "priority",
            "due_at",
            "labels",
            "project_id",
            "parent_id",
            "position",
            "created_at",
            "updated_at",
            "completed_at",
            "version",
        ]
        read_only_fields = [
            "id",
            "project_id",
            "parent_id",
            "position",
            "created_at",
            "updated_at",
            "completed_at",
            "version",
        ]
        extra_kwargs = {"priority": {"min_value": 0, "max_value": 4}}
